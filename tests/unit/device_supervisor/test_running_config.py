"""quickfaas.config.get() and wizard_api.get_tag_config() show the configuration in Device
Supervisor's names, and never a secret."""

from __future__ import annotations

import json

from gateway.config.load import parse_config
from gateway.device_supervisor.running_config import running_config
from gateway.rules.tag_config import tag_config
from tests.conftest import REPO

CONFIG = """
gateway: {name: g1, labels: {site: north}, web: {metrics_token: token-s3cret-metrics}}
serial_ports: [{name: rs485, device: /dev/ttyS1, baud: 19200, parity: E}]
controllers:
  - {name: PLC1, protocol: modbus-tcp, endpoint: '10.0.0.5:502', args: {unit_id: 3, byte_order: cdab}}
  - {name: RTU1, protocol: modbus-rtu, endpoint: rs485, args: {unit_id: 7}}
  - {name: S7, protocol: s7, endpoint: '10.0.0.6:102', args: {rack: 0, slot: 2}}
  - {name: MES, protocol: opcua, endpoint: 'opc.tcp://10.0.0.7:4840',
     args: {security_mode: Sign, security_policy: Basic256Sha256, certificate: /etc/s3cret/app.der,
            private_key: /etc/s3cret/app.pem, auth: username, username: opc, password: opc-s3cret-pw}}
groups: [{name: g, upload_interval: 5}]
measures:
  - {name: Temp, controller: PLC1, group: g, address: '40001', type: FLOAT, transform: {kind: gain_offset, gain: 0.1}}
  - {name: SP, controller: RTU1, group: g, address: '40003', type: INT, access: rw, upload: onchange}
alarms: [{name: High, measure: Temp, level: 4, content: hot, cond1: {op: egt, value: 80}, label: boiler}]
clouds:
  - {name: broker, type: mqtt, host: broker.example, username: plant, password: pw-s3cret-mqtt}
  - {name: aws, type: aws-iot, host: a.iot.example, client_id: thing, cert: certs/s3cret.crt, key: certs/s3cret.key,
     root_ca: certs/ca-s3cret.pem}
"""


def test_neither_view_holds_a_secret() -> None:
    model = parse_config(CONFIG, REPO / "config.yaml").model
    for view in (running_config(model), tag_config(model)):
        text = json.dumps(view)
        assert "s3cret" not in text and "plant" not in text


def test_running_config_in_device_supervisors_names() -> None:
    config = running_config(parse_config(CONFIG, REPO / "config.yaml").model)
    assert config["controllers"][0] == {"name": "PLC1", "protocol": "Modbus-TCP", "endpoint": "10.0.0.5:502",
                                        "args": {"unit_id": 3, "byte_order": "cdab"}, "samplePeriod": 1.0,
                                        "expired": 2000}
    temp = config["measures"][0]
    assert (temp["ctrlName"], temp["dataType"], temp["addr"], temp["transformType"], temp["gain"]) == (
        "PLC1", "FLOAT", "40001", 2, "0.1")
    assert config["alarmLables"] == ["boiler"] and config["alarms"][0]["ctrlName"] == "PLC1"
    assert {"key": "site", "value": "north"} in config["labels"]
    assert config["misc"]["coms"] == [{"name": "rs485", "baud": 19200, "bits": 8, "parityChk": "e", "stopbits": 1}]
    assert [c["type"] for c in config["clouds"]] == ["Standard MQTT", "AWS IoT"]


def test_tag_config_in_device_supervisor_1x_names() -> None:
    config = tag_config(parse_config(CONFIG, REPO / "config.yaml").model)
    plc, rtu, s7, _mes = config["devices"]
    assert (plc["device_name"], plc["protocol"], plc["ip"], plc["port"], plc["slave"], plc["byte_order"]) == (
        "PLC1", "ModbusTCP", "10.0.0.5", 502, 3, "cdab")
    assert (rtu["protocol"], rtu["serial"], rtu["baudrate"], rtu["parity"], rtu["slave"]) == (
        "ModbusRTU", "rs485", 19200, "E", 7)
    assert (s7["protocol"], s7["ip"], s7["port"], s7["rack"], s7["slot"]) == ("ISO-on-TCP", "10.0.0.6", 102, 0, 2)
    collect, alarm_group = config["groups"]
    assert (collect["group_name"], collect["polling_interval"], collect["upload_interval"]) == ("g", 1.0, 5.0)
    assert (alarm_group["group_name"], alarm_group["group_type"]) == ("boiler", "alarm")
    sp = next(v for v in config["vars"] if v["var_name"] == "SP")
    assert (sp["device"], sp["read_write"], sp["mode"], sp["data_type"]) == ("RTU1", "read/write", "onchange", "INT")
    [high] = config["warning"]
    assert (high["warn_name"], high["condition1"], high["operand1"], high["device"], high["address"]) == (
        "High", "Gne", "80", "PLC1", "40001")

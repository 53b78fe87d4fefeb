"""A Device Supervisor export with controllers of every protocol we read imports each of them with
its measures into a configuration the gateway accepts; what cannot come across is reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.config import parse_config
from gateway.device_supervisor.cfg_import import import_cfg


def _export(controllers: list[dict[str, Any]], measures: list[dict[str, Any]]) -> dict[str, Any]:
    return {"controllers": controllers, "measures": measures, "groups": [{"name": "default", "uploadInterval": 10}]}


def _accepted(config: dict[str, Any], tmp_path: Path) -> Any:
    return parse_config(yaml.safe_dump(config), tmp_path / "config.yaml").model


def test_an_opc_ua_controller_and_its_nodeids_come_across(tmp_path: Path) -> None:
    export = _export(
        [{"protocol": "OPC-UA", "name": "MES", "endpoint": "10.0.0.40:4840", "samplePeriod": 2,
          "args": {"securityMode": "None", "securityPolicy": "None", "username": "operator", "password": "pw",
                   "connectTimeOut": 3000}},
         {"protocol": "OPC-UA", "name": "Line2", "endpoint": "opc.tcp://10.0.0.41:4840/line2",
          "args": {"securityMode": "SignAndEncrypt", "securityPolicy": "Basic256Sha256"}}],
        [{"name": "Temp", "ctrlName": "MES", "group": "default", "dataType": "FLOAT", "addr": "ns=2;s=Line1.Temp"},
         {"name": "Count", "ctrlName": "Line2", "group": "default", "dataType": "DINT", "addr": "ns=3;i=1001",
          "readWrite": "rw"}])
    imported = import_cfg(export)
    model = _accepted(imported.config, tmp_path)
    mes, line2 = model.controllers
    assert (mes.protocol, mes.endpoint, mes.timeout) == ("opcua", "opc.tcp://10.0.0.40:4840", 3.0)
    assert mes.args == {"auth": "username", "username": "operator", "password": "pw"}
    assert line2.endpoint == "opc.tcp://10.0.0.41:4840/line2" and line2.args == {}
    assert [m.address for m in model.measures] == ["ns=2;s=Line1.Temp", "ns=3;i=1001"]
    assert any("Line2: OPC UA security SignAndEncrypt/Basic256Sha256 needs our application certificate" in line
               for line in imported.report)


def test_an_ethernet_ip_controller_and_its_tags_come_across(tmp_path: Path) -> None:
    export = _export([{"protocol": "EtherNet/IP", "name": "L83", "endpoint": "10.0.0.50", "args": {"slot": 2}}],
                     [{"name": "Speed", "ctrlName": "L83", "group": "default", "dataType": "FLOAT",
                       "addr": "Line1.Motor.Speed"},
                      {"name": "Count", "ctrlName": "L83", "group": "default", "dataType": "DINT",
                       "addr": "Program:Main.Counter"}])
    model = _accepted(import_cfg(export).config, tmp_path)
    (l83,) = model.controllers
    assert (l83.protocol, l83.endpoint, l83.args) == ("ethernet-ip", "10.0.0.50:44818", {"slot": 2})
    assert [m.address for m in model.measures] == ["Line1.Motor.Speed", "Program:Main.Counter"]


def test_an_mc_3e_controller_and_its_devices_come_across(tmp_path: Path) -> None:
    export = _export([{"protocol": "MC 3E", "name": "R04", "endpoint": "10.0.0.61:5000", "args": {"plcType": "iQ-R"}},
                      {"protocol": "MC 3E", "name": "Q03", "endpoint": "10.0.0.60:5000"}],
                     [{"name": "Force", "ctrlName": "R04", "group": "default", "dataType": "FLOAT", "addr": "D100"},
                      {"name": "Guard", "ctrlName": "Q03", "group": "default", "dataType": "BIT", "addr": "X1A"}])
    model = _accepted(import_cfg(export).config, tmp_path)
    assert [(c.protocol, c.args) for c in model.controllers] == [("mc-3e", {"series": "iQ-R"}),
                                                                 ("mc-3e", {"series": "Q"})]
    assert [m.address for m in model.measures] == ["D100", "X1A"]


def test_a_protocol_we_do_not_read_is_reported_with_its_measures(tmp_path: Path) -> None:
    export = _export([{"protocol": "IEC 61850", "name": "Relay", "endpoint": "10.0.0.9:102"}],
                     [{"name": "I", "ctrlName": "Relay", "group": "default", "dataType": "FLOAT", "addr": "x"}])
    imported = import_cfg(export)
    assert imported.config["controllers"] == [] and imported.config["measures"] == []
    assert any("protocol 'IEC 61850' is not supported" in line for line in imported.report)

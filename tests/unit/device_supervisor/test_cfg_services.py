"""Device Supervisor's Modbus TCP slave page comes across as services.modbus_server; what we do
not carry of it is reported."""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway.config import parse_config
from gateway.device_supervisor.cfg_import import import_cfg


def _slave(**fields: object) -> dict[str, object]:
    return {"enable": 1, "protocol": "Modbus-TCP", "port": 1502, "slaveAddr": 3, "int16Ord": "ab",
            "int32Ord": "abcd", "float32Ord": "cdab", "maxConnection": 2, "useRawvalue": 1, "mapping_table": [],
            "mappingTable": [{"name": "1", "slaveAddr": 3, "measures": [{"name": "Temp"}, {"name": "Flow"}]}],
            **fields}


def test_an_enabled_slave_keeps_its_port_unit_limit_and_float_order(tmp_path: Path) -> None:
    imported = import_cfg({"modbusSlave": _slave()})
    assert imported.config["services"] == {"modbus_server": {"port": 1502, "unit_id": 3, "max_connections": 2,
                                                             "byte_order": "cdab"}}
    model = parse_config(yaml.safe_dump(imported.config), tmp_path / "config.yaml").model
    assert model.services["modbus_server"]["port"] == 1502
    report = "\n".join(imported.report)
    assert "int32Ord and float32Ord differ" in report
    assert "2 mapping table row(s) not imported" in report
    assert "served raw values" in report
    assert "northbound server is enabled" not in report  # it was imported, not dropped


def test_a_disabled_slave_is_not_configured() -> None:
    assert "services" not in import_cfg({"modbusSlave": _slave(enable=0)}).config



def test_an_enabled_opc_ua_server_keeps_its_port_and_says_who_may_connect(tmp_path: Path) -> None:
    section = {"enable": 1, "port": 4850, "maximumLink": 5, "securityMode": 0, "identifierType": "String",
               "pubsub": 0, "certificate": "None", "privateKey": "None", "mapping_table": [{"name": "Temp"}]}
    imported = import_cfg({"opcuaServer": section})
    assert imported.config["services"] == {"opcua_server": {"port": 4850, "allow_anonymous": True,
                                                            "allow_unencrypted": True}}
    parse_config(yaml.safe_dump(imported.config), tmp_path / "config.yaml")
    report = "\n".join(imported.report)
    assert "without a user" in report and "every measure is served" in report

"""The protocol catalogue the UI's controller form is drawn from: every registered protocol, its
examples, and a field for each of its args with the limits the gateway will check."""

from __future__ import annotations

from gateway.southbound import available_protocols
from gateway.southbound.catalogue import protocol_catalogue


def test_every_registered_protocol_is_described_with_its_own_args() -> None:
    catalogue = {entry["protocol"]: entry for entry in protocol_catalogue()}
    assert list(catalogue) == list(available_protocols())  # in the registry's order: Modbus TCP first
    assert next(iter(catalogue)) == "modbus-tcp"
    s7 = {field["name"]: field for field in catalogue["s7"]["args"]}
    assert s7["slot"] == {"name": "slot", "type": "integer", "default": 1, "minimum": 0, "maximum": 31,
                          "description": "the CPU's slot (1 for S7-1200/1500, 2 for S7-300)"}
    assert s7["tsap_local"]["type"] == "string" and s7["tsap_local"]["default"] is None  # optional: no null type
    modbus = {field["name"]: field for field in catalogue["modbus-tcp"]["args"]}
    assert modbus["byte_order"]["type"] == "select" and modbus["byte_order"]["options"] == ["abcd", "badc", "cdab",
                                                                                           "dcba"]
    assert "framer" in modbus and "framer" not in {f["name"] for f in catalogue["modbus-rtu"]["args"]}
    assert catalogue["modbus-rtu"]["uses_serial_port"] and not catalogue["modbus-tcp"]["uses_serial_port"]
    assert any("DB1.DBD0" in form for form in catalogue["s7"]["address_forms"])

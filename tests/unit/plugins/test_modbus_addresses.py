"""Modbus address forms of Device Supervisor (table tests)."""

from __future__ import annotations

import pytest

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.addresses import Area, ModbusAddress, check_point, parse_address


@pytest.mark.parametrize(("text", "expected"), [
    ("00001", ModbusAddress(Area.COIL, 0)),
    ("10001", ModbusAddress(Area.DISCRETE_INPUT, 0)),
    ("30010", ModbusAddress(Area.INPUT_REGISTER, 9)),
    ("40001", ModbusAddress(Area.HOLDING_REGISTER, 0)),
    ("49999", ModbusAddress(Area.HOLDING_REGISTER, 9998)),
    ("400001", ModbusAddress(Area.HOLDING_REGISTER, 0)),
    ("410000", ModbusAddress(Area.HOLDING_REGISTER, 9999)),
    ("465536", ModbusAddress(Area.HOLDING_REGISTER, 65535)),
    ("40001.3", ModbusAddress(Area.HOLDING_REGISTER, 0, 3)),
    ("30002.15", ModbusAddress(Area.INPUT_REGISTER, 1, 15)),
    (" 40005 ", ModbusAddress(Area.HOLDING_REGISTER, 4)),
])
def test_parses_every_form(text: str, expected: ModbusAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("20001", "not a Modbus address"),
    ("4001", "not a Modbus address"),
    ("40000", "out of range"),
    ("465537", "out of range"),
    ("40001.16", "bits 0-15"),
    ("00001.1", "only registers have bits"),
    ("4x0001", "not a Modbus address"),
    ("", "not a Modbus address"),
])
def test_refuses_bad_addresses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        parse_address(text)


@pytest.mark.parametrize(("address", "dtype", "reason"), [
    ("00001", DataType.INT, "only BIT or BOOL"),
    ("40001", DataType.BIT, "needs a bit"),
    ("40001.2", DataType.INT, "names a bit"),
    ("465536", DataType.FLOAT, "runs past the last register"),
])
def test_type_must_fit_the_area(address: str, dtype: DataType, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        check_point(Point("x", address, dtype))

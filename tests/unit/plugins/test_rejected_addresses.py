"""A block the PLC rejects for a missing address is split once; only the bad points go, the rest stay read."""

from __future__ import annotations

from gateway.southbound import DataType, Point
from gateway_plugins.modbus.driver import ModbusTcpArgs, ModbusTcpDriver
from gateway_plugins.modbus.simserver import ModbusSimServer
from gateway_plugins.s7.driver import S7Args, S7Driver
from gateway_plugins.s7.simserver import S7SimServer
from tests.conftest import free_port
from tests.unit.plugins.reading import read_once


async def test_modbus_bisects_once_and_keeps_reading_the_rest() -> None:
    good = [Point("A", "40001", DataType.INT), Point("C", "40005", DataType.FLOAT), Point("D", "40010", DataType.INT)]
    bad = Point("B", "40003", DataType.INT)
    port = free_port()
    server = ModbusSimServer(good, "127.0.0.1", port, moving=lambda _p: False, missing=[bad])
    for point, value in zip(good, (1, 2.5, 4), strict=True):
        server.set_value(point.name, value)
    await server.start()
    driver = ModbusTcpDriver(f"127.0.0.1:{port}", 1.0, ModbusTcpArgs())
    plan = ModbusTcpDriver.plan([*good, bad], ModbusTcpArgs())
    assert plan.request_count == 1
    try:
        await driver.connect()
        first = await driver.read(plan)
        assert first.values == {"A": 1, "C": 2.5, "D": 4}
        assert set(first.newly_rejected) == {"B"}
        assert first.errors["B"] == "device answered exception 2 (illegal data address) at 40003"
        before = server.requests
        second = await driver.read(plan)
        assert second.values == first.values and second.errors == first.errors and not second.newly_rejected
        assert server.requests - before == plan.request_count == 2  # [A] and [C, D]: no more probing
        plan.reset()  # as after a reconnect: the PLC may have a new program
        assert plan.request_count == 1 and not plan.rejected
    finally:
        await driver.close()
        await server.stop()


async def test_s7_missing_db_and_out_of_range_bytes_are_isolated() -> None:
    good = [Point("Run", "DB3.0.1", DataType.BIT), Point("Speed", "DB3.2", DataType.FLOAT)]
    beyond = Point("Far", "DB3.40", DataType.INT)       # DB3 is only 22 bytes long on this PLC
    absent = Point("Other", "DB9.0", DataType.INT)      # DB9 does not exist
    port = free_port()
    server = S7SimServer(good, "127.0.0.1", port, moving=lambda _p: False)
    server.set_value("Run", True)
    server.set_value("Speed", 12.5)
    await server.start()
    args = S7Args(max_gap=64)
    driver = S7Driver(f"127.0.0.1:{port}", 1.0, args)
    result = await read_once(driver, S7Driver.plan([*good, beyond, absent], args), server)
    assert result.values == {"Run": True, "Speed": 12.5}
    assert set(result.newly_rejected) == {"Far", "Other"}
    assert "0x05" in result.errors["Far"] and "0x0a" in result.errors["Other"]

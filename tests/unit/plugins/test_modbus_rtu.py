"""Modbus RTU on a serial line (a pty null modem), RTU framing over TCP, and write function codes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Point, SerialLine
from gateway_plugins.modbus.driver import ModbusArgs, ModbusRtuDriver, ModbusTcpArgs, ModbusTcpDriver
from gateway_plugins.modbus.simserver import ModbusSimServer, SimPlc
from tests.conftest import free_port
from tests.unit.plugins.reading import read_once

POINTS = [Point("Temp", "40001", DataType.FLOAT), Point("Run", "00001", DataType.BIT)]


def _poller(name: str, unit: int, device: str) -> ControllerPoller:
    controller = Controller(name=name, protocol="modbus-rtu", endpoint="rs485", timeout=1.0, args={"unit_id": unit})
    measures = [Measure(name="Temp", controller=name, group="g", address="40001", type="FLOAT"),
                Measure(name="Run", controller=name, group="g", address="00001", type="BIT")]
    driver = ModbusRtuDriver("rs485", 1.0, ModbusArgs(unit_id=unit), SerialLine(device, baud=115200))
    return ControllerPoller(controller, measures, driver, LatestValues())


async def test_two_plcs_share_one_rs485_line(serial_pair: tuple[str, str]) -> None:
    plc_side, gateway_side = serial_pair
    units = [SimPlc(POINTS, unit_id=1, moving=lambda _p: False), SimPlc(POINTS, unit_id=2, moving=lambda _p: False)]
    units[0].set_value("Temp", 20.5)
    units[1].set_value("Temp", 31.25)
    units[1].set_value("Run", True)
    server = ModbusSimServer(plcs=units, serial_device=plc_side, baud=115200)
    await server.start()
    first, second = _poller("Boiler", 1, gateway_side), _poller("Pump", 2, gateway_side)
    try:
        for _ in range(3):  # both pollers at once: their requests take turns on the line
            assert all(await asyncio.gather(first.poll_once(), second.poll_once()))
        assert first.latest.get("Boiler", "Temp").value == 20.5
        assert second.latest.get("Pump", "Temp").value == 31.25
        assert second.latest.get("Pump", "Run").value is True
        await second.write("Run", False)
        assert units[1].get_value("Run") is False and units[0].get_value("Run") is False
    finally:
        await first.driver.close()
        await second.driver.close()
        await server.stop()


async def test_rtu_framing_over_tcp() -> None:
    port = free_port()
    server = ModbusSimServer(POINTS, "127.0.0.1", port, unit_id=5, moving=lambda _p: False, framer="rtu")
    server.set_value("Temp", 7.75)
    await server.start()
    args = ModbusTcpArgs(unit_id=5, framer="rtu")
    driver = ModbusTcpDriver(f"127.0.0.1:{port}", 1.0, args)
    result = await read_once(driver, ModbusTcpDriver.plan(POINTS, args), server)
    assert result.values == {"Temp": 7.75, "Run": False}


@pytest.mark.parametrize(("mode", "codes"), [("multiple", [15, 16]), ("single", [5, 6, 6])])
async def test_write_mode_picks_the_function_codes(mode: str, codes: list[int]) -> None:
    port = free_port()
    server = ModbusSimServer([*POINTS, Point("SP", "40011", DataType.FLOAT)], "127.0.0.1", port,
                             moving=lambda _p: False)
    await server.start()
    args: Any = ModbusTcpArgs(write_mode=mode)
    driver = ModbusTcpDriver(f"127.0.0.1:{port}", 1.0, args)
    try:
        await driver.connect()
        server.plcs[0].function_codes.clear()
        await driver.write(Point("Run", "00001", DataType.BIT), True)
        await driver.write(Point("SP", "40011", DataType.FLOAT), 12.5)
        await driver.read(ModbusTcpDriver.plan([Point("SP", "40011", DataType.FLOAT)], args))
    finally:
        await driver.close()
        await server.stop()
    assert server.plcs[0].function_codes[:-1] == codes
    assert server.get_value("SP") == 12.5 and server.get_value("Run") is True

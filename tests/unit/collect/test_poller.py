"""The poller against a real Modbus server: health, last good value, recovery, no overlap, cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.errors import DeviceRejected
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Point, ReadResult
from gateway_plugins.modbus.driver import ModbusTcpArgs, ModbusTcpDriver
from gateway_plugins.modbus.simserver import ModbusSimServer
from gateway_plugins.simulator.driver import SimulatorArgs, SimulatorDriver
from tests.conftest import free_port


def _modbus_setup(port: int) -> tuple[ControllerPoller, LatestValues]:
    controller = Controller(name="PLC1", protocol="modbus-tcp", endpoint=f"127.0.0.1:{port}", timeout=0.5)
    measures = [Measure(name="Temp", controller="PLC1", group="g", address="40001", type="FLOAT",
                        transform={"kind": "gain_offset", "gain": 2, "offset": 1}),
                Measure(name="Bad", controller="PLC1", group="g", address="40900", type="INT")]
    latest = LatestValues()
    driver = ModbusTcpDriver(controller.endpoint, controller.timeout, ModbusTcpArgs(max_gap=0))
    return ControllerPoller(controller, measures, driver, latest), latest


async def test_failed_reads_keep_the_last_good_value_and_recover() -> None:
    port = free_port()
    server = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT)], "127.0.0.1", port, moving=lambda _p: False)
    server.set_value("Temp", 10.0)
    await server.start()
    poller, latest = _modbus_setup(port)
    try:
        assert await poller.poll_once()
        reading = latest.get("PLC1", "Temp")
        assert (reading.value, reading.status) == (21.0, 1)  # 10 * 2 + 1
        bad = latest.get("PLC1", "Bad")
        assert bad.status == 0 and "illegal data address" in bad.error  # only its own block failed
        await server.stop()
        assert not await poller.poll_once()
        reading = latest.get("PLC1", "Temp")
        assert (reading.value, reading.status) == (21.0, 0)
        assert poller.health.healthy is False and poller.health.consecutive_failures == 1
        server = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT)], "127.0.0.1", port, moving=lambda _p: False)
        server.set_value("Temp", 5.0)
        await server.start()
        assert await poller.poll_once()
        assert (latest.get("PLC1", "Temp").value, latest.get("PLC1", "Temp").status) == (11.0, 1)
        assert poller.health.healthy is True and poller.health.consecutive_failures == 0
    finally:
        await poller.driver.close()
        await server.stop()


async def test_writes_apply_the_inverse_transform() -> None:
    port = free_port()
    server = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT)], "127.0.0.1", port, moving=lambda _p: False)
    await server.start()
    poller, _latest = _modbus_setup(port)
    try:
        await poller.write("Temp", 41.0)
        assert server.get_value("Temp") == 20.0  # (41 - 1) / 2
    finally:
        await poller.driver.close()
        await server.stop()


class _SlowDriver(SimulatorDriver):
    """The simulator with a read that takes longer than the sample period."""

    active = 0
    most_active = 0
    reads = 0
    closed = False

    async def read(self, plan: Any) -> ReadResult:
        type(self).active += 1
        type(self).most_active = max(type(self).most_active, type(self).active)
        try:
            await asyncio.sleep(0.05)
            type(self).reads += 1
            return await super().read(plan)
        finally:
            type(self).active -= 1

    async def close(self) -> None:
        type(self).closed = True


async def test_runs_never_overlap_and_cancellation_propagates() -> None:
    controller = Controller(name="Sim", protocol="simulator", endpoint="local", sample_period=0.01)
    measures = [Measure(name="L", controller="Sim", group="g", address="sine", type="FLOAT")]
    poller = ControllerPoller(controller, measures, _SlowDriver("local", 1.0, SimulatorArgs()), LatestValues())
    task = asyncio.create_task(poller.run())
    while _SlowDriver.reads < 4:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)  # cancel in the middle of a read
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _SlowDriver.most_active == 1
    assert _SlowDriver.closed


async def test_writes_never_interleave_with_a_read_cycle() -> None:
    points = [Point("Run", "00001", DataType.BIT), Point("SP", "40001", DataType.FLOAT),
              Point("Temp", "30001", DataType.FLOAT)]
    port = free_port()
    server = ModbusSimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    await server.start()
    controller = Controller(name="PLC1", protocol="modbus-tcp", endpoint=f"127.0.0.1:{port}", sample_period=0.001)
    measures = [Measure(name=p.name, controller="PLC1", group="g", address=p.address, type=p.dtype, access="rw")
                for p in points[:2]] + [Measure(name="Temp", controller="PLC1", group="g", address="30001",
                                                type="FLOAT")]
    poller = ControllerPoller(controller, measures, ModbusTcpDriver(controller.endpoint, 1.0, ModbusTcpArgs()),
                              LatestValues())
    assert poller.plan.request_count == 3  # FC1, FC4, FC3 each cycle (coils, input and holding registers)
    task = asyncio.create_task(poller.run())
    try:
        for value in range(20):
            await poller.write("SP", float(value))
            await asyncio.sleep(0.003)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
    codes = server.plcs[0].function_codes
    assert codes.count(16) == 20 and server.get_value("SP") == 19.0
    position = 0
    while position < len(codes):  # the stream is whole cycles (1, 4, 3) with writes (16) only between them
        if codes[position] == 16:
            position += 1
            continue
        assert codes[position : position + 3] in ([1, 4, 3], [1, 4], [1]), codes[position : position + 4]
        position += 3


class _RefusingDriver(SimulatorDriver):
    """The simulator answering every read with a device refusal (the link itself is fine)."""

    closes = 0

    async def read(self, plan: Any) -> ReadResult:
        raise DeviceRejected("device answered exception 6 (device busy)")

    async def close(self) -> None:
        type(self).closes += 1
        await super().close()


async def test_a_refusal_keeps_the_connection_a_lost_link_does_not() -> None:
    controller = Controller(name="Sim", protocol="simulator", endpoint="local")
    measures = [Measure(name="L", controller="Sim", group="g", address="sine", type="FLOAT")]
    poller = ControllerPoller(controller, measures, _RefusingDriver("local", 1.0, SimulatorArgs()), LatestValues())
    assert not await poller.poll_once()
    assert _RefusingDriver.closes == 0 and poller.driver.connected
    assert poller.latest.get("Sim", "L").error == "device answered exception 6 (device busy)"

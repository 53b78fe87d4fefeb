"""The MC 3E driver against its simulated CPU: every device form read and written (Q and iQ-R
frames), planned batch reads, devices out of range, a CPU that answers garbage, and one that stops
and comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.config.schema import Controller
from gateway.core.errors import BadAnswer
from gateway.southbound import DataType, Point
from gateway_plugins.melsec.driver import MelsecArgs, MelsecDriver
from gateway_plugins.melsec.simserver import MelsecSimServer
from tests.conftest import free_port
from tests.integration.device_outage import outage_is_reported_once_each_way

POINTS = [
    Point("Temp", "D100", DataType.FLOAT), Point("Count", "D102", DataType.DINT),
    Point("Level", "W1A", DataType.INT), Point("Recipe", "R2000", DataType.WORD),
    Point("Lot", "D200", DataType.STRING, length=8), Point("Alarm3", "D110.3", DataType.BIT),
    Point("Run", "M20", DataType.BOOL), Point("Sensor", "X1A", DataType.BIT), Point("Valve", "Y1F", DataType.BIT),
    Point("Link", "B3F", DataType.BIT), Point("Total", "ZR10000", DataType.LONG),
]
PINNED = {"Temp": 21.5, "Count": -70_000, "Level": -12, "Recipe": 65_000, "Lot": "LOT-0042", "Alarm3": True,
          "Run": True, "Sensor": False, "Valve": True, "Link": True, "Total": 2**40}


@pytest.fixture
async def cpu() -> AsyncIterator[MelsecSimServer]:
    simulated = MelsecSimServer(POINTS, "127.0.0.1", free_port(), moving=lambda _p: False)
    for name, value in PINNED.items():
        simulated.set_value(name, value)
    await simulated.start()
    yield simulated
    await simulated.stop()


@pytest.mark.parametrize("series", ["Q", "iQ-R"])
async def test_every_device_form_is_read_and_written(cpu: MelsecSimServer, series: str) -> None:
    driver = MelsecDriver(f"127.0.0.1:{cpu.port}", 1.0, MelsecArgs(series=series))
    plan = MelsecDriver.plan(POINTS, driver.args)
    written = {"Temp": -3.25, "Count": 123_456, "Level": 7, "Recipe": 1, "Lot": "LOT-0043", "Alarm3": False,
               "Run": False, "Sensor": True, "Valve": False, "Link": False, "Total": -5}
    try:
        await driver.connect()
        before = cpu.requests
        result = await driver.read(plan)
        assert result.errors == {} and result.values == PINNED
        assert cpu.requests - before == plan.request_count == 9  # D100-D110, D200-D203, W, R, ZR, M, X, Y, B
        for point in POINTS:
            await driver.write(point, written[point.name])
        result = await driver.read(plan)
    finally:
        await driver.close()
    assert result.values == written
    assert cpu.get_value("Alarm3") is False and cpu.get_value("Count") == 123_456


async def test_devices_beyond_the_cpus_range_are_bad_alone_and_left_out(cpu: MelsecSimServer) -> None:
    driver = MelsecDriver(f"127.0.0.1:{cpu.port}", 1.0, MelsecArgs())
    points = [Point("Temp", "D100", DataType.FLOAT), Point("Count", "D102", DataType.DINT),
              Point("Edge", "D12287", DataType.INT), Point("Beyond", "D12290", DataType.INT)]  # a Q CPU has 12288
    plan = MelsecDriver.plan(points, driver.args)
    try:
        await driver.connect()
        first = await driver.read(plan)
        second = await driver.read(plan)
    finally:
        await driver.close()
    assert first.values == {"Temp": 21.5, "Count": -70_000, "Edge": 0} == second.values  # the read was split
    assert first.newly_rejected == {"Beyond": "the CPU answered end code 0xC056 at D12290"}
    assert second.errors == {"Beyond": "the CPU answered end code 0xC056 at D12290"} and not second.newly_rejected


async def test_a_cpu_that_answers_garbage_is_dropped_and_reconnected(cpu: MelsecSimServer) -> None:
    driver = MelsecDriver(f"127.0.0.1:{cpu.port}", 1.0, MelsecArgs())
    plan = MelsecDriver.plan(POINTS[:2], driver.args)
    try:
        await driver.connect()
        cpu.garbage = True
        with pytest.raises(BadAnswer, match="no 3E answer"):
            await driver.read(plan)
        assert not driver.connected  # the stream is out of step: it is closed
        cpu.garbage = False
        await driver.connect()
        assert (await driver.read(plan)).values == {"Temp": 21.5, "Count": -70_000}
    finally:
        await driver.close()


async def test_a_cpu_that_stops_and_comes_back_is_reported_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    controller = Controller(name="Q03", protocol="mc-3e", endpoint=f"127.0.0.1:{port}", timeout=0.5)
    await outage_is_reported_once_each_way(controller, POINTS[:2], "Temp", caplog)

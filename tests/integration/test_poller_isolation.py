"""A dead or silent PLC never delays the others, and a failing one is backed off and reported."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Point, driver_for, parse_args
from gateway_plugins.s7.simserver import S7SimServer
from tests.conftest import free_port


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers, like a hung PLC."""
    async def swallow(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


def _s7_poller(name: str, port: int, period: float, timeout: float) -> ControllerPoller:
    controller = Controller(name=name, protocol="s7", endpoint=f"127.0.0.1:{port}", sample_period=period,
                            timeout=timeout)
    measures = [Measure(name="Speed", controller=name, group="g", address="DB3.2", type="FLOAT")]
    driver_class = driver_for("s7")
    driver = driver_class(controller.endpoint, timeout, parse_args(driver_class, controller.args))
    return ControllerPoller(controller, measures, driver, LatestValues())


async def test_silent_s7_plcs_do_not_slow_a_healthy_one(silent_port: int) -> None:
    port = free_port()
    server = S7SimServer([Point("Speed", "DB3.2", DataType.FLOAT)], "127.0.0.1", port)
    await server.start()
    healthy = _s7_poller("Healthy", port, period=0.05, timeout=1.0)
    hung = [_s7_poller(f"Hung{i}", silent_port, period=0.05, timeout=3.0) for i in range(12)]
    tasks = [asyncio.create_task(p.run()) for p in [*hung, healthy]]
    try:
        await asyncio.sleep(1.5)
        cycles = healthy.health.cycles
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop()
    assert healthy.health.healthy is True
    assert cycles >= 10, f"the healthy PLC was polled only {cycles} time(s) in 1.5 s"
    assert all(p.health.last_success == 0 for p in hung)


async def test_a_controller_that_keeps_failing_is_backed_off_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    poller = _s7_poller("Gone", free_port(), period=0.01, timeout=0.5)
    caplog.set_level(logging.INFO, logger="gateway.collect")
    for _ in range(5):
        assert not await poller.poll_once()
    assert poller.health.degraded
    warnings = [r.getMessage() for r in caplog.records if "backing off" in r.getMessage()]
    assert len(warnings) == 1, warnings  # said once, not every cycle
    assert [r.levelname for r in caplog.records if "read failed" in r.getMessage()] == ["ERROR"]

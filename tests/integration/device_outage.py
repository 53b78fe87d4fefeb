"""A device that stops answering and comes back, as every driver must survive it: the poller marks
its values bad, reports the failure once and the recovery once, and reads the new value."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway.southbound import Point, driver_for, parse_args
from gateway.southbound.simulation import SimServer, simulator_of


async def outage_is_reported_once_each_way(
        controller: Controller, points: Sequence[Point], watched: str, caplog: pytest.LogCaptureFixture, *,
        notice_after: float = 0.0) -> None:
    """Poll ``controller`` while its protocol's simulator (serving ``points``, ``watched`` pinned)
    runs, stops and comes back; ``notice_after`` is how long the driver needs to notice."""
    measures = [Measure(name=p.name, controller=controller.name, group="g", address=p.address, type=p.dtype)
                for p in points]
    driver_class = driver_for(controller.protocol)
    args = parse_args(driver_class, controller.args)
    driver = driver_class(controller.endpoint, controller.timeout, args)
    simulate = simulator_of(driver_class)
    assert simulate is not None, f"{controller.protocol} has no simulator"
    _host, port = driver_class.network_address(controller.endpoint)

    async def start(value: float) -> SimServer:
        server = simulate(points, port, args, lambda _p: False)
        server.set_value(watched, value)
        await server.start()
        return server

    latest = LatestValues()
    poller = ControllerPoller(controller, measures, driver, latest)
    caplog.set_level(logging.INFO, logger="gateway.collect")
    server = await start(20.0)
    try:
        assert await poller.poll_once(), poller.health.last_error
        assert latest.get(controller.name, watched).value == 20.0
        await server.stop()
        await asyncio.sleep(notice_after)
        assert not await poller.poll_once()
        assert not await poller.poll_once()
        assert latest.get(controller.name, watched).status == 0
        server = await start(23.0)
        assert await poller.poll_once(), poller.health.last_error
        reading = latest.get(controller.name, watched)
        assert (reading.value, reading.status) == (23.0, 1)
    finally:
        await poller.driver.close()
        await server.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.collect"]
    assert sum("read failed" in line for line in lines) == 1
    assert sum("reads recovered" in line for line in lines) == 1

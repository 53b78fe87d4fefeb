"""The EtherNet/IP driver against cpppo's Logix server: every tag form read and written, tags
packed into multi-service requests, a tag the controller lacks, and a controller that stops and
comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.errors import BadAnswer
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Point
from gateway_plugins.logix.driver import LogixArgs, LogixDriver
from gateway_plugins.logix.simserver import LogixSimServer
from tests.conftest import free_port
from tests.integration.device_outage import outage_is_reported_once_each_way

POINTS = [
    Point("Speed", "Line1.Motor.Speed", DataType.FLOAT),
    Point("Counter", "Program:Main.Counter", DataType.DINT),
    Point("Running", "Running", DataType.BOOL),
    Point("Alarm5", "Status.5", DataType.BIT),
    Point("Recipe3", "Recipe[3]", DataType.INT),
    Point("Profile", "Profile[0]{4}", DataType.FLOAT),
    Point("Total", "Total", DataType.LONG),
]
PINNED = {"Speed": 12.5, "Counter": -70_000, "Running": True, "Alarm5": True, "Recipe3": 42,
          "Profile": [1.5, 2.5, 3.5, 4.5], "Total": 2**40}


@pytest.fixture
async def plc() -> AsyncIterator[LogixSimServer]:
    simulated = LogixSimServer(POINTS, "127.0.0.1", free_port(), moving=lambda _p: False)
    for name, value in PINNED.items():
        simulated.set_value(name, value)
    await simulated.start()
    yield simulated
    await simulated.stop()


async def test_every_tag_form_is_read_and_written(plc: LogixSimServer) -> None:
    driver = LogixDriver(f"127.0.0.1:{plc.port}", 2.0, LogixArgs())
    plan = LogixDriver.plan(POINTS, driver.args)
    try:
        await driver.connect()
        result = await driver.read(plan)
        assert result.errors == {} and result.values == PINNED
        assert plan.connection_size == 4002 and plan.request_count == 2  # a large connection; the array alone
        written = {"Speed": 30.25, "Counter": 123, "Running": False, "Recipe3": -7, "Profile": [9.0, 8.0, 7.0, 6.0],
                   "Total": -5}
        for point in POINTS:
            if point.name in written:
                await driver.write(point, written[point.name])
        # a bit write is a Read-Modify-Write, which cpppo lacks: its answer is one pylogix cannot read
        with pytest.raises(BadAnswer, match="could not be read"):
            await driver.write(POINTS[3], False)
        await driver.close()  # as the poller does after a BadAnswer: the connection is out of step
        await driver.connect()
        result = await driver.read(plan)
    finally:
        await driver.close()
    assert {name: result.values[name] for name in written} == written
    assert plc.get_value("Counter") == 123


async def test_a_tag_the_controller_lacks_is_bad_alone_and_left_out(plc: LogixSimServer) -> None:
    driver = LogixDriver(f"127.0.0.1:{plc.port}", 2.0, LogixArgs(connection="small"))
    points = [*POINTS[:3], Point("Ghost", "NoSuchTag", DataType.DINT),
              Point("Wrong", "Line1.Motor.Speed", DataType.BOOL)]
    plan = LogixDriver.plan(points, driver.args)
    try:
        await driver.connect()
        first = await driver.read(plan)
        second = await driver.read(plan)
    finally:
        await driver.close()
    assert first.values == {"Speed": 12.5, "Counter": -70_000, "Running": True}
    assert first.errors["Ghost"] == "the controller says: Path destination unknown"
    assert first.newly_rejected == {"Ghost": "Path destination unknown"}
    assert first.errors["Wrong"] == "the tag holds 12.5, not a bit"
    assert "Ghost" not in second.errors and second.newly_rejected == {}  # not asked again
    assert plan.connection_size == 504


async def test_a_controller_that_knows_none_of_the_tags_is_asked_again(plc: LogixSimServer) -> None:
    """Not one tag answering is no proof the tags are missing (a program still loading, a wrong
    slot): nothing is left out, and the cycle fails rather than passing as a read of nothing."""
    driver = LogixDriver(f"127.0.0.1:{plc.port}", 2.0, LogixArgs())
    plan = LogixDriver.plan([Point("Ghost", "NoSuchTag", DataType.DINT)], driver.args)
    try:
        await driver.connect()
        for _ in range(2):
            result = await driver.read(plan)
            assert result.errors == {"Ghost": "the controller says: Path destination unknown"}
            assert result.newly_rejected == {} and not plan.rejected
    finally:
        await driver.close()


async def test_a_controller_that_stops_and_comes_back_is_reported_once_each_way(
        caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    controller = Controller(name="L83", protocol="ethernet-ip", endpoint=f"127.0.0.1:{port}", timeout=0.5)
    await outage_is_reported_once_each_way(controller, POINTS[:2], "Speed", caplog)


async def test_a_silent_controller_costs_the_timeout_not_the_gateway() -> None:
    server = await asyncio.start_server(lambda _r, _w: asyncio.sleep(3600), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    driver = LogixDriver(f"127.0.0.1:{port}", 0.3, LogixArgs())
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # refused as a connection that fails, or as one that never answers (which comes first depends
        # on the machine's load): either way within the timeout, not after
        with pytest.raises(Exception, match=r"(?i)connect|no answer"):
            await driver.connect()
        assert loop.time() - started < 2.0
    finally:
        await driver.close()
        server.close()


async def test_an_array_is_written_through_the_poller_with_its_checks(plc: LogixSimServer) -> None:
    controller = Controller(name="L83", protocol="ethernet-ip", endpoint=f"127.0.0.1:{plc.port}", timeout=2.0)
    measures = [Measure(name="Profile", controller="L83", group="g", address="Profile[0]{4}", type="FLOAT",
                        access="rw"),
                Measure(name="Recipe3", controller="L83", group="g", address="Recipe[3]", type="INT", access="rw")]
    poller = ControllerPoller(controller, measures, LogixDriver(controller.endpoint, 2.0, LogixArgs()), LatestValues())
    try:
        await poller.write("Profile", [5, "6.5", 7.25, 8])  # a dashboard's JSON array, numbers as text too
        with pytest.raises(ValueError, match="out of range"):
            await poller.write("Recipe3", [1, 40_000])
        assert await poller.poll_once()
    finally:
        await poller.driver.close()
    assert poller.latest.get("L83", "Profile").value == [5.0, 6.5, 7.25, 8.0]

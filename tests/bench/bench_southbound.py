"""Southbound benchmark: planned block reads against one request per tag, in one run.

Modbus TCP: 5,000 tags over 10,000 holding registers of a pymodbus server. S7: 2,000 tags over
three DBs of a python-snap7 server. MELSEC: 5,000 tags over 10,000 D devices of the simulated
MC 3E CPU. Logix: 500 tags of cpppo's EtherNet/IP server, packed into
Multiple Service Packets against one tag a request. OPC UA: 2,000 nodes of asyncua's server, batched Reads against
one node per Read; and 10,000 monitored items changing every second, delivered by subscription,
against polling the same nodes. Each server runs in its own process, so ``process_time`` is the
gateway's CPU alone. Each cycle is a real poller cycle: read, decode, transform, record.

    python -m tests.bench.bench_southbound        (or: make bench)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Point, driver_for, parse_args
from gateway.southbound.blocks import BlockPlan
from gateway_plugins.logix.planning import LogixPlan
from gateway_plugins.melsec.planning import narrow as melsec_narrow
from gateway_plugins.modbus.planning import narrow as modbus_narrow
from gateway_plugins.opcua.planning import OpcUaPlan
from gateway_plugins.s7.planning import narrow as s7_narrow
from tests.bench.tags import logix_tags, melsec_tags, modbus_tags, opcua_tags, s7_tags
from tests.conftest import REPO, free_port


@dataclass
class Run:
    """One measured way of polling."""

    label: str
    tags: int
    requests: int
    cycles: int
    wall: float
    cpu: float

    @property
    def tags_per_second(self) -> float:
        return self.tags * self.cycles / self.wall

    @property
    def cpu_us_per_tag(self) -> float:
        return self.cpu / (self.tags * self.cycles) * 1e6


def _one_request_per_tag(narrow: Callable[[Any, Any], Any]) -> Callable[[Any], None]:
    """Turn a block plan into one block per tag."""
    def split(plan: Any) -> None:
        assert isinstance(plan, BlockPlan)
        plan.replace([narrow(block, [member]) for block in plan.blocks for member in block.members])
    return split


def _one_node_per_read(plan: Any) -> None:
    assert isinstance(plan, OpcUaPlan)
    plan.fit(1)


def _one_tag_per_request(plan: Any) -> None:
    assert isinstance(plan, LogixPlan)
    plan.multi_service = False
    plan.fit(plan.connection_size)


async def _measure(poller: ControllerPoller, label: str, cycles: int,
                   prepare: Callable[[Any], None] | None = None) -> Run:
    assert await poller.poll_once()  # warm up: connect, and let S7 fit its PDU
    if prepare is not None:
        prepare(poller.plan)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(cycles):
        assert await poller.poll_once(), poller.health.last_error
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    failed = [r for n in poller.measures if (r := poller.latest.get(poller.name, n)).status != 1]
    assert not failed, f"{len(failed)} tag(s) failed to read"
    return Run(label, len(poller.measures), poller.plan.request_count, cycles, wall, cpu)


def _poller(protocol: str, port: int, points: list[Point], args: dict[str, Any]) -> ControllerPoller:
    driver_class = driver_for(protocol)
    controller = Controller(name="bench", protocol=protocol, endpoint=driver_class.endpoint_at("127.0.0.1", port),
                            timeout=5.0, args=args)
    measures = [Measure(name=p.name, controller="bench", group="g", address=p.address, type=p.dtype) for p in points]
    driver = driver_class(controller.endpoint, controller.timeout, parse_args(driver_class, controller.args))
    return ControllerPoller(controller, measures, driver, LatestValues())


async def _simulator(kind: str, port: int, count: int) -> subprocess.Popen[str]:
    server = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "tests.bench.sim_process", kind,
                                                        str(port), str(count)],
                                     cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


async def _bench(kind: str, protocol: str, points: list[Point], one_per_request: Callable[[Any], None],
                 args: dict[str, Any], planned_cycles: int, per_tag_cycles: int) -> tuple[Run, Run]:
    port = free_port()
    server = await _simulator(kind, port, len(points))
    try:
        planned = _poller(protocol, port, points, args)
        planned_run = await _measure(planned, f"{kind}: planned", planned_cycles)
        await planned.driver.close()
        per_tag = _poller(protocol, port, points, args)
        per_tag_run = await _measure(per_tag, f"{kind}: one request per tag", per_tag_cycles, one_per_request)
        await per_tag.driver.close()
        return planned_run, per_tag_run
    finally:
        server.terminate()
        server.wait(10)


@dataclass
class Delivery:
    """Values taken up over a time window, and the gateway's CPU for them."""

    label: str
    items: int
    seconds: float
    changed: int  # readings whose value changed (what either way is there to deliver)
    cpu: float

    @property
    def cpu_us_per_value(self) -> float:
        return self.cpu / max(1, self.changed) * 1e6


async def _delivery(mode: str, port: int, points: list[Point], seconds: float) -> Delivery:
    """Run a poller at 1 s for ``seconds`` on a server whose values all change every second."""
    poller = _poller("opcua", port, points, {"mode": mode, "publishing_interval": 1.0})
    try:
        assert await poller.poll_once(), poller.health.last_error  # connect (and subscribe)
        latest = poller.latest
        version, cpu, started = latest.version, time.process_time(), time.monotonic()
        while time.monotonic() - started < seconds:
            cycle = time.monotonic()
            assert await poller.poll_once(), poller.health.last_error
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - cycle)))
        return Delivery(f"opcua: {'subscription' if mode == 'subscribe' else 'polling'}", len(points),
                        time.monotonic() - started, latest.version - version, time.process_time() - cpu)
    finally:
        await poller.driver.close()


async def _subscription_bench(count: int, seconds: float) -> tuple[Delivery, Delivery]:
    port = free_port()
    server = await _simulator("opcua-moving", port, count)
    points = opcua_tags(count, (DataType.DOUBLE,))  # the moving server's nodes
    try:
        subscribed = await _delivery("subscribe", port, points, seconds)
        polled = await _delivery("poll", port, points, seconds)
        return subscribed, polled
    finally:
        server.terminate()
        server.wait(10)


def _delivery_report(subscribed: Delivery, polled: Delivery) -> str:
    lines = [f"{'':34} {'items':>6} {'seconds':>8} {'changed values':>15} {'CPU µs/value':>13}"]
    for run in (subscribed, polled):
        lines.append(f"{run.label:34} {run.items:>6} {run.seconds:>8.1f} {run.changed:>15,} "
                     f"{run.cpu_us_per_value:>13.1f}")
    lines.append(f"{'':34} subscription takes 1/{polled.cpu_us_per_value / subscribed.cpu_us_per_value:.1f} of the "
                 "CPU per value that polling takes")
    return "\n".join(lines)


def _report(runs: list[tuple[Run, Run]]) -> str:
    lines = [f"{'':34} {'tags':>6} {'requests':>9} {'cycles':>7} {'tags/s':>10} {'CPU µs/tag':>11}"]
    for planned, per_tag in runs:
        for run in (planned, per_tag):
            lines.append(f"{run.label:34} {run.tags:>6} {run.requests:>9} {run.cycles:>7} "
                         f"{run.tags_per_second:>10,.0f} {run.cpu_us_per_tag:>11.1f}")
        lines.append(f"{'':34} planned is {planned.tags_per_second / per_tag.tags_per_second:.1f}x the tags/s "
                     f"at 1/{per_tag.cpu_us_per_tag / planned.cpu_us_per_tag:.1f} of the CPU per tag")
    return "\n".join(lines)


async def main() -> None:
    runs = [
        await _bench("modbus", "modbus-tcp", modbus_tags(5000), _one_request_per_tag(modbus_narrow), {}, 40, 2),
        await _bench("s7", "s7", s7_tags(2000), _one_request_per_tag(s7_narrow), {}, 40, 2),
        await _bench("melsec", "mc-3e", melsec_tags(5000), _one_request_per_tag(melsec_narrow), {}, 40, 2),
        await _bench("opcua", "opcua", opcua_tags(2000), _one_node_per_read, {}, 20, 1),
        await _bench("logix", "ethernet-ip", logix_tags(500), _one_tag_per_request, {}, 5, 1),
    ]
    print(_report(runs))
    print(_delivery_report(*await _subscription_bench(10_000, 20.0)))


if __name__ == "__main__":
    asyncio.run(main())

"""Southbound benchmark: planned block reads against one request per tag, in one run.

Modbus TCP: 5,000 tags over 10,000 holding registers of a pymodbus server. S7: 2,000 tags over
three DBs of a python-snap7 server. Each server runs in its own process, so ``process_time`` is
the gateway's CPU alone. Each cycle is a real poller cycle: read, decode, transform, record.

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
from gateway.southbound import Point, driver_for, parse_args
from gateway.southbound.blocks import BlockPlan
from gateway_plugins.modbus.planning import narrow as modbus_narrow
from gateway_plugins.s7.planning import narrow as s7_narrow
from tests.bench.tags import modbus_tags, s7_tags
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


def _one_request_per_tag(plan: Any, narrow: Callable[[Any, Any], Any]) -> None:
    assert isinstance(plan, BlockPlan)
    plan.replace([narrow(block, [member]) for block in plan.blocks for member in block.members])


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
    controller = Controller(name="bench", protocol=protocol, endpoint=f"127.0.0.1:{port}", timeout=5.0, args=args)
    measures = [Measure(name=p.name, controller="bench", group="g", address=p.address, type=p.dtype) for p in points]
    driver_class = driver_for(protocol)
    driver = driver_class(controller.endpoint, controller.timeout, parse_args(driver_class, controller.args))
    return ControllerPoller(controller, measures, driver, LatestValues())


async def _bench(kind: str, protocol: str, points: list[Point], narrow: Callable[[Any, Any], Any],
                 args: dict[str, Any], planned_cycles: int, per_tag_cycles: int) -> tuple[Run, Run]:
    port = free_port()
    server = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "tests.bench.sim_process", kind,
                                                        str(port), str(len(points))],
                                     cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        planned = _poller(protocol, port, points, args)
        planned_run = await _measure(planned, f"{kind}: planned blocks", planned_cycles)
        await planned.driver.close()
        per_tag = _poller(protocol, port, points, args)
        per_tag_run = await _measure(per_tag, f"{kind}: one request per tag", per_tag_cycles,
                                     lambda plan: _one_request_per_tag(plan, narrow))
        await per_tag.driver.close()
        return planned_run, per_tag_run
    finally:
        server.terminate()
        server.wait(10)


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
        await _bench("modbus", "modbus-tcp", modbus_tags(5000), modbus_narrow, {}, 40, 2),
        await _bench("s7", "s7", s7_tags(2000), s7_narrow, {}, 40, 2),
    ]
    print(_report(runs))


if __name__ == "__main__":
    asyncio.run(main())

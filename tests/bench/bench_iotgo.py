"""IoTgo connector benchmark: this process's CPU per delivered update, measured in one run for
two kinds of device, each against the other.

- A factory device: one ``update`` request per outbox row (its key came from ``register``).
- A DIY device with a ``rw`` measure: a ``query`` before each update, so that an update never
  overwrites an app's change the gateway has not seen (the server never pushes to DIY ids).

The rows are committed to a real outbox first; the connector drains them over its WebSocket to
the tests' IoTgo server (written from ITEAD's server), which runs in its own process.

    python -m tests.bench.bench_iotgo [--updates N]      (or: make bench)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.cloud import IotgoConnector
from gateway.config.schema import Cloud, IotgoDevice, Measure
from gateway.core.messages import OutgoingMessage
from gateway.southbound import DataType
from gateway.store import Outbox
from tests.conftest import REPO

FACTORY_ID, DIY_ID = "1080000001", "1000000001"
FACTORY_KEY, OWNER_KEY = "11111111-2222-3333-4444-555555555555", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
MEASURES = [Measure(name="Temp", controller="PLC1", group="g", address="40001", type=DataType.FLOAT),
            Measure(name="SP", controller="PLC1", group="g", address="40003", type=DataType.FLOAT, access="rw")]


@dataclass
class Drained:
    """Updates delivered to one device, and this process's CPU and the wall time for them."""

    label: str
    updates: int
    cpu: float
    wall: float

    @property
    def cpu_us_per_update(self) -> float:
        return self.cpu / self.updates * 1e6


async def _serve() -> None:
    """The server process: the tests' IoTgo server with both devices, until killed."""
    from tests.integration.iotgo_server import IotgoServer

    server = IotgoServer()
    server.add(FACTORY_ID, OWNER_KEY, FACTORY_KEY)
    server.add(DIY_ID, OWNER_KEY)
    await server.start()
    print(server.port, flush=True)
    await asyncio.Event().wait()


async def _no_write(request: Any) -> list[dict[str, Any]]:
    raise AssertionError(f"nothing is changed from the app in this benchmark: {request}")


async def drain(folder: Path, port: int, device: IotgoDevice, updates: int) -> Drained:
    """Commit ``updates`` rows for ``device``, then time the connector delivering all of them."""
    cloud = Cloud(name="iot", type="iotgo", host="127.0.0.1", port=port, devices=[device], query_interval=3600.0)
    outbox = await Outbox.open(folder / f"outbox-{device.deviceid}.db", updates * 2, 1 << 30)
    flusher = asyncio.create_task(outbox.run_ack_flusher())
    try:
        await outbox.enqueue([OutgoingMessage("iot", device.deviceid, json.dumps({"Temp": 20.0 + i / 100, "SP": 5.0})
                                              .encode(), 1) for i in range(updates)])
        connector = IotgoConnector(cloud, outbox, {device.deviceid: MEASURES}, _no_write)
        wall, cpu = time.perf_counter(), time.process_time()
        task = asyncio.create_task(connector.run())
        while connector.state.delivered < updates:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert connector.dropped == 0 and outbox.depth == 0
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await outbox.close()
    kind = "factory device (update only)" if device.factory else "DIY device with rw (query + update)"
    return Drained(kind, updates, cpu, wall)


async def run(updates: int) -> tuple[Drained, Drained]:
    """Both drains against one server process."""
    server = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "tests.bench.bench_iotgo", "--server"],
                                     cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().strip())
        with tempfile.TemporaryDirectory() as folder:
            factory = await drain(Path(folder), port, IotgoDevice(deviceid=FACTORY_ID, apikey=FACTORY_KEY, factory=True,
                                                                  measures=["Temp", "SP"]), updates)
            diy = await drain(Path(folder), port, IotgoDevice(deviceid=DIY_ID, apikey=OWNER_KEY,
                                                              measures=["Temp", "SP"]), updates)
        return factory, diy
    finally:
        server.terminate()
        server.wait(10)


def report(factory: Drained, diy: Drained) -> str:
    lines = [f"IoTgo: {factory.updates:,} updates per device from a committed outbox over one WebSocket"]
    for drained in (factory, diy):
        lines.append(f"  {drained.label:<38} {drained.cpu_us_per_update:8.1f} µs CPU/update, "
                     f"{drained.updates / drained.wall:8.0f} updates/s")
    lines.append(f"  a DIY update with its query takes {diy.cpu_us_per_update / factory.cpu_us_per_update:.2f}x the "
                 "CPU of a factory device's update")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--updates", type=int, default=5_000)
    arguments = parser.parse_args()
    if arguments.server:
        asyncio.run(_serve())
    else:
        print(report(*asyncio.run(run(arguments.updates))))

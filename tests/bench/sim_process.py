"""Serve a simulated PLC in its own process, so a benchmark measures only the gateway's CPU.

    python -m tests.bench.sim_process modbus PORT TAGS
    python -m tests.bench.sim_process s7 PORT TAGS
    python -m tests.bench.sim_process logix PORT TAGS          cpppo's EtherNet/IP server
    python -m tests.bench.sim_process melsec PORT TAGS         an MC 3E binary CPU
    python -m tests.bench.sim_process opcua PORT TAGS          values pinned
    python -m tests.bench.sim_process opcua-moving PORT TAGS   every value changes every second
    python -m tests.bench.sim_process plant PORT TAGS    one-register tags with clocks (end-to-end bench)
"""

from __future__ import annotations

import asyncio
import sys

from gateway.southbound import DataType
from gateway_plugins.logix.simserver import LogixSimServer
from gateway_plugins.melsec.simserver import MelsecSimServer
from gateway_plugins.modbus.simserver import ModbusSimServer
from gateway_plugins.opcua.simserver import OpcUaSimServer
from gateway_plugins.s7.simserver import S7SimServer
from tests.bench.tags import (
    CLOCK_EVERY,
    clock_now,
    logix_tags,
    melsec_tags,
    modbus_tags,
    opcua_tags,
    plant_tags,
    s7_tags,
)


async def _serve(kind: str, port: int, count: int) -> None:
    if kind == "plant":
        await _serve_plant(port, count)
        return
    server: ModbusSimServer | S7SimServer | OpcUaSimServer | LogixSimServer | MelsecSimServer
    if kind == "melsec":
        points = melsec_tags(count)
        server = MelsecSimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    elif kind == "logix":
        points = logix_tags(count)
        server = LogixSimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    elif kind.startswith("opcua"):
        moving = kind == "opcua-moving"
        points = opcua_tags(count, (DataType.DOUBLE,)) if moving else opcua_tags(count)  # a moving DOUBLE moves
        server = OpcUaSimServer(points, "127.0.0.1", port, moving=lambda _p: moving, period=1.0)
        if moving:  # every value changes every second: no pins
            await server.start()
            print("ready", flush=True)
            await asyncio.Event().wait()
    elif kind == "modbus":
        points = modbus_tags(count)
        server = ModbusSimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    else:
        points = s7_tags(count)
        server = S7SimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    for index, point in enumerate(points):
        server.set_value(point.name, index % 2 == 0 if point.dtype.is_bit else index % 100)
    await server.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def _serve_plant(port: int, count: int) -> None:
    """Serve ``plant_tags``: each holds its index (mod 1000), the clocks the time, refreshed 20 times a second."""
    points = plant_tags(count)
    server = ModbusSimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    for index, point in enumerate(points):
        server.set_value(point.name, index % 1000)
    clocks = [point.name for index, point in enumerate(points) if index % CLOCK_EVERY == 0]
    await server.start()
    print("ready", flush=True)
    while True:
        now = clock_now()
        for name in clocks:
            server.set_value(name, now)
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

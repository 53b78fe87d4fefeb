"""Serve a simulated PLC in its own process, so a benchmark measures only the gateway's CPU.

    python -m tests.bench.sim_process modbus PORT TAGS
    python -m tests.bench.sim_process s7 PORT TAGS
"""

from __future__ import annotations

import asyncio
import sys

from gateway_plugins.modbus.simserver import ModbusSimServer
from gateway_plugins.s7.simserver import S7SimServer
from tests.bench.tags import modbus_tags, s7_tags


async def _serve(kind: str, port: int, count: int) -> None:
    if kind == "modbus":
        points = modbus_tags(count)
        server: ModbusSimServer | S7SimServer = ModbusSimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    else:
        points = s7_tags(count)
        server = S7SimServer(points, "127.0.0.1", port, moving=lambda _p: False)
    for index, point in enumerate(points):
        server.set_value(point.name, index % 2 == 0 if point.dtype.is_bit else index % 100)
    await server.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

"""A simulated S7 PLC on python-snap7's real server, for the demo and the tests.

It registers every DB and area the points use; read-only points move with time unless pinned
with :meth:`S7SimServer.set_value`, writable points keep what a client wrote.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import snap7
from snap7.type import SrvArea

from gateway.southbound import Point
from gateway_plugins.simulator.waveforms import value_at

from . import codec
from .addresses import S7Address, byte_span, check_point

_SERVER_AREAS = {"DB": SrvArea.DB, "M": SrvArea.MK, "I": SrvArea.PE, "Q": SrvArea.PA}


class S7SimServer:
    """Serve ``points`` on ``host:port``; moving values are refreshed by a background thread."""

    def __init__(
        self,
        points: Sequence[Point],
        host: str,
        port: int,
        moving: Callable[[Point], bool] = lambda _p: True,
        period: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port = host, port
        self._points = {p.name: (p, check_point(p)) for p in points}
        self._moving = {name for name, (p, _) in self._points.items() if moving(p)}
        self._memory: dict[tuple[str, int], bytearray] = {}
        for point, address in self._points.values():
            key = (address.area, address.db)
            size = max(len(self._memory.get(key, b"")), address.byte + byte_span(point) + 16)
            self._memory[key] = self._memory.get(key, bytearray()).ljust(size, b"\x00")
        self._server = snap7.Server(log=False)
        self._server.host = host
        for (area, db), data in self._memory.items():
            self._server.register_area(_SERVER_AREAS[area], db, data)
        self._period, self._clock = period, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh_loop, name="s7-sim", daemon=True)

    async def start(self) -> None:
        """Start listening and moving values."""
        self._refresh()
        await asyncio.to_thread(self._server.start, self.port)
        self._thread.start()

    async def stop(self) -> None:
        """Stop the refresher and the server."""
        self._stop.set()
        await asyncio.to_thread(self._server.stop)

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point to ``value``; it stops moving."""
        self._moving.discard(name)
        point, address = self._points[name]
        self._store(point, address, value)

    def get_value(self, name: str) -> Any:
        """Return what the server holds for a point (e.g. after a client wrote it)."""
        point, address = self._points[name]
        return codec.decode(point, address.bit, self._memory[(address.area, address.db)], address.byte)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self._period):
            self._refresh()

    def _refresh(self) -> None:
        now = self._clock()
        for name in list(self._moving):
            point, address = self._points[name]
            self._store(point, address, value_at(point.dtype, now, name, point.length))

    def _store(self, point: Point, address: S7Address, value: Any) -> None:
        memory = self._memory[(address.area, address.db)]
        if address.bit is not None:
            memory[address.byte] = codec.set_bit(memory[address.byte], address.bit, bool(value))
        else:
            data = codec.encode(point, value)
            memory[address.byte : address.byte + len(data)] = data


def simulate(points: Sequence[Point], port: int, _args: Any, moving: Callable[[Point], bool]) -> S7SimServer:
    """Build a simulated S7 PLC on 127.0.0.1:``port`` for a controller's points (rack, slot and
    TSAPs do not matter to snap7's server), as the demo and the plugin's sample test run it."""
    return S7SimServer(points, "127.0.0.1", port, moving)

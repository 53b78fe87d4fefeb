"""A simulated Logix controller: cpppo's EtherNet/IP server serving Logix-style tags, for the demo
and the tests.

cpppo runs in its own process (``cpppo_child.py``, which ends with its parent) with a tag for each point's base
tag: an atomic tag of the point's type, an array long enough for every element the points name,
a DINT for a bit of an integer. Values are set and read back through the protocol (a pylogix
client), so the simulator is a real EtherNet/IP peer; read-only points move with time unless
pinned with ``set_value``. cpppo has no Logix STRING (a structure), so STRING points are refused,
nor the Read-Modify-Write service a bit write (``Status.5``) needs: the simulator sets such bits by
writing their whole integer, and a client's bit write is refused as by a controller without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from pylogix import PLC

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point
from gateway_plugins.simulator.waveforms import value_at

from .addresses import check_point

_CPPPO_TYPE = {DataType.BIT: "BOOL", DataType.BOOL: "BOOL", DataType.BYTE: "USINT", DataType.SINT: "SINT",
               DataType.WORD: "UINT", DataType.INT: "INT", DataType.DWORD: "UDINT", DataType.DINT: "DINT",
               DataType.LONG: "LINT", DataType.FLOAT: "REAL", DataType.DOUBLE: "LREAL"}
_BASE = re.compile(r"^(?P<base>.*?)(?:\[(?P<index>\d+)\])?(?:\.(?P<bit>\d+))?$")


class LogixSimServer:
    """Serve ``points`` on ``host:port``; moving values change every ``period`` s."""

    def __init__(self, points: Sequence[Point], host: str = "127.0.0.1", port: int = 44818,
                 moving: Callable[[Point], bool] = lambda _p: True, *, period: float = 0.5) -> None:
        self.host, self.port = host, port
        self._points = {p.name: (p, check_point(p)) for p in points}
        self._moving = [p for p, _ in self._points.values() if moving(p)]
        self._pinned: dict[str, Any] = {}
        self._tags = _tag_definitions(points)
        self._period = period
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._mover: threading.Thread | None = None
        self._lock = threading.Lock()  # one pylogix client, used from the mover and from callers
        self._words: dict[str, int] = {}  # integers whose bits are points: their value as the simulator set it
        self._client: PLC | None = None

    async def start(self) -> None:
        """Start cpppo's server and wait until it answers."""
        command = [sys.executable, "-m", "gateway_plugins.logix.cpppo_child", str(os.getpid()),
                   "--address", f"{self.host}:{self.port}", *(f"{name}={kind}" for name, kind in self._tags.items())]
        self._process = await asyncio.to_thread(subprocess.Popen, command, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
        try:
            await asyncio.to_thread(self._wait_until_listening)
        except BaseException:  # a server that never came up is not left running
            self._process.terminate()
            await asyncio.to_thread(self._process.wait, 10)
            self._process = None
            raise
        self._client = PLC(self.host, 0, 5.0, port=self.port)
        now = time.time()
        await asyncio.to_thread(self._write_all, [(p, self._value(p, now)) for p, _ in self._points.values()])
        self._stop.clear()
        self._mover = threading.Thread(target=self._move, name=f"logix-sim-{self.port}", daemon=True)
        self._mover.start()

    async def stop(self) -> None:
        """Stop moving values and the server."""
        self._stop.set()
        if self._mover is not None:
            await asyncio.to_thread(self._mover.join, 5)
        if self._client is not None:
            with self._lock:
                self._client.Close()
        if self._process is not None:
            self._process.terminate()
            await asyncio.to_thread(self._process.wait, 10)
        self._process = self._mover = self._client = None

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point to ``value`` and write it now; KeyError if unknown."""
        point, _ = self._points[name]
        self._pinned[name] = value
        if self._client is not None:
            self._write_all([(point, value)])

    def get_value(self, name: str) -> Any:
        """Return the value the controller holds for a point now."""
        _point, address = self._points[name]
        if self._client is None:
            raise RuntimeError("the server is not running")
        with self._lock:
            response = self._client.Read(address.tag, address.count)
        return response.Value

    def _value(self, point: Point, t: float) -> Any:
        if point.name in self._pinned:
            return self._pinned[point.name]
        value = value_at(point.dtype, t, point.name)
        address = self._points[point.name][1]
        return [value] * address.count if address.count > 1 else value

    def _write_all(self, values: list[tuple[Point, Any]]) -> None:
        if self._client is None:
            return
        with self._lock:
            for point, value in values:
                tag = self._points[point.name][1].tag
                match = _BASE.match(tag)
                if match is not None and match.group("bit") is not None:  # no Read-Modify-Write here
                    base, bit = match.group("base"), int(match.group("bit"))
                    word = self._words.get(base, 0) & ~(1 << bit) | (int(bool(value)) << bit)
                    self._words[base] = word
                    tag, value = base, word
                self._client.Write(tag, value)

    def _move(self) -> None:
        while not self._stop.wait(self._period):
            now = time.time()
            with contextlib.suppress(OSError):
                self._write_all([(p, self._value(p, now)) for p in self._moving])

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"cpppo's EtherNet/IP server exited with {self._process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.5):
                if self._serves_its_tags():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"cpppo's EtherNet/IP server did not listen on {self.host}:{self.port}")


    def _serves_its_tags(self) -> bool:
        """Return True once a tag reads: cpppo listens before it has set its tags up."""
        probe = PLC(self.host, 0, 2.0, port=self.port)
        try:
            return str(probe.Read(next(iter(self._tags)).split("[")[0]).Status) == "Success"
        except (OSError, struct.error, IndexError):
            return False
        finally:
            probe.Close()


def _tag_definitions(points: Sequence[Point]) -> dict[str, str]:
    """Return cpppo's ``name=TYPE[size]`` for the base tag of every point."""
    kinds: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for point in points:
        if point.dtype is DataType.STRING or point.dtype not in _CPPPO_TYPE:
            raise AddressError(f"{point.name}: the simulated controller has no {point.dtype} tags")
        address = check_point(point)
        match = _BASE.match(address.tag)
        assert match is not None  # every checked tag has a base
        base = match.group("base")
        kinds[base] = "DINT" if match.group("bit") is not None else _CPPPO_TYPE[point.dtype]
        if match.group("index") is not None:
            sizes[base] = max(sizes.get(base, 1), int(match.group("index")) + address.count)
    return {name: f"{kind}[{sizes[name]}]" if name in sizes else kind for name, kind in kinds.items()}


def simulate(points: Sequence[Point], port: int, _args: Any, moving: Callable[[Point], bool]) -> LogixSimServer:
    """Build a simulated Logix controller on 127.0.0.1:``port`` for a controller's points, as the
    demo and the plugin's sample test run it."""
    return LogixSimServer(points, "127.0.0.1", port, moving)

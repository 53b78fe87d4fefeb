"""A simulated MELSEC CPU answering MC protocol 3E binary frames, for the demo and the tests.

It serves batch reads (word units) and batch writes (word and bit units) of every device kind
the driver knows, in Q/L and iQ-R form, with device memory the size of a Q CPU's defaults: a
request beyond it is answered with end code C056, as a CPU does. Read-only points move with time
unless pinned with ``set_value``; writable ones keep what a client wrote. ``garbage`` makes it
answer every request with bytes that are no 3E answer, as a broken device would.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

from gateway.southbound import Point
from gateway_plugins.simulator.waveforms import value_at

from . import codec, frames
from .addresses import DEVICES, Device, MelsecAddress, check_point, word_count

WORDS = {"D": 12288, "W": 8192, "R": 32768, "ZR": 65536, "SD": 2048, "SW": 2048,  # words of each device kind
         "M": 512, "X": 512, "Y": 512, "B": 512, "L": 512, "F": 128, "SM": 128, "SB": 128}
_BY_CODE = {device.code: device for device in DEVICES.values()}
OUT_OF_RANGE, WRONG_COMMAND = 0xC056, 0xC059


class MelsecSimServer:
    """Serve ``points`` on ``host:port``."""

    def __init__(self, points: Sequence[Point], host: str = "127.0.0.1", port: int = 5000,
                 moving: Callable[[Point], bool] = lambda _p: True, *, period: float = 0.2,
                 clock: Callable[[], float] = time.time) -> None:
        self.host, self.port = host, port
        self.garbage = False
        self.requests = 0
        self._points = {p.name: (p, check_point(p)) for p in points}
        self._moving = {name for name, (p, _) in self._points.items() if moving(p)}
        self._pinned: dict[str, Any] = {}
        self._memory = {name: bytearray(2 * words) for name, words in WORDS.items()}
        self._period, self._clock = period, clock
        self._server: asyncio.Server | None = None
        self._mover: asyncio.Task[None] | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen and move values."""
        self._refresh(self._clock(), initial=True)
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self._mover = asyncio.create_task(self._move(), name=f"melsec-sim-{self.port}")

    async def stop(self) -> None:
        """Stop listening (and drop the connections)."""
        if self._mover is not None:
            self._mover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mover
        for client in list(self._clients):  # a CPU that stops drops its connections too
            client.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = self._mover = None

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point to ``value``; KeyError if unknown."""
        point, address = self._points[name]
        self._pinned[name] = value
        self._store(point, address, value)

    def get_value(self, name: str) -> Any:
        """Return a point's value in the CPU's memory now."""
        point, address = self._points[name]
        memory = self._memory[address.device.name]
        return codec.decode(point, address, bytes(memory), address.word)

    def _store(self, point: Point, address: MelsecAddress, value: Any) -> None:
        memory = self._memory[address.device.name]
        start = 2 * address.word
        if address.device.bits or address.bit is not None:
            bit = address.number % 16 if address.device.bits else address.bit
            assert bit is not None
            memory[start:start + 2] = codec.with_bit(bytes(memory[start:start + 2]), bit, bool(value))
            return
        data = codec.encode(point, value)
        memory[start:start + 2 * word_count(point, address)] = data[:2 * word_count(point, address)].ljust(
            2 * word_count(point, address), b"\x00")

    def _refresh(self, now: float, initial: bool = False) -> None:
        for name, (point, address) in self._points.items():
            if name in self._pinned:
                if initial:
                    self._store(point, address, self._pinned[name])
            elif initial or name in self._moving:
                self._store(point, address, value_at(point.dtype, now, name, point.length or 8))

    async def _move(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            self._refresh(self._clock())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                header = await reader.readexactly(9)
                _sub, network, pc, module_io, station, length = struct.unpack("<2sBBHBH", header)
                body = await reader.readexactly(length)
                self.requests += 1
                route = frames.Route(network, pc, module_io, station)
                if self.garbage:
                    writer.write(b"\x00\xff" * 7)
                else:
                    end_code, data = self._answer(body)
                    payload = struct.pack("<H", end_code) + data
                    writer.write(struct.pack("<2sBBHBH", b"\xd0\x00", route.network, route.pc, route.module_io,
                                             route.station, len(payload)) + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        """Carry out one request; return the end code and the data."""
        _timer, command, subcommand = struct.unpack_from("<HHH", body)
        iqr = subcommand >= frames.IQR_OFFSET
        if iqr:
            number, code = struct.unpack_from("<IH", body, 6)
            rest = body[12:]
        else:
            number, code = int.from_bytes(body[6:9], "little"), body[9]
            rest = body[10:]
        device = _BY_CODE.get(code)
        points = struct.unpack_from("<H", rest)[0]
        data = rest[2:]
        units = subcommand - (frames.IQR_OFFSET if iqr else 0)
        if device is None or command not in (frames.READ, frames.WRITE) or units not in (0, 1):
            return WRONG_COMMAND, b""
        if units == frames.BIT_UNITS:
            return self._write_bits(device, number, points, data) if command == frames.WRITE else (WRONG_COMMAND, b"")
        word = number // 16 if device.bits else number
        memory = self._memory[device.name]
        if word + points > len(memory) // 2 or (device.bits and number % 16):
            return OUT_OF_RANGE, b""
        if command == frames.READ:
            return 0, bytes(memory[2 * word: 2 * (word + points)])
        memory[2 * word: 2 * (word + points)] = data[: 2 * points]
        return 0, b""

    def _write_bits(self, device: Device, number: int, points: int, data: bytes) -> tuple[int, bytes]:
        memory = self._memory[device.name]
        if not device.bits or (number + points) // 16 >= len(memory) // 2:
            return OUT_OF_RANGE, b""
        for index in range(points):
            on = bool(data[index // 2] >> (4 if index % 2 == 0 else 0) & 1)
            bit = number + index
            start = 2 * (bit // 16)
            memory[start:start + 2] = codec.with_bit(bytes(memory[start:start + 2]), bit % 16, on)
        return 0, b""


def simulate(points: Sequence[Point], port: int, _args: Any, moving: Callable[[Point], bool]) -> MelsecSimServer:
    """Build a simulated MELSEC CPU on 127.0.0.1:``port`` for a controller's points, as the demo and
    the plugin's sample test run it."""
    return MelsecSimServer(points, "127.0.0.1", port, moving)

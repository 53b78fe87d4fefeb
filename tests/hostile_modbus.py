"""A Modbus TCP server that answers the way a test says: right, wrong, or not at all.

pymodbus' server only ever answers correctly; a misbehaving device, a confused serial device
server or an attacker on the plant network does not. Every register holds its own address, so a
test sees at once which values a frame carried.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from tests.conftest import free_port


@dataclass(frozen=True)
class Request:
    """One request as the server read it off the wire."""

    tid: int
    unit: int
    function: int
    address: int
    count: int  # the value, for FC 5 and 6


def frame(tid: int, unit: int, pdu: bytes) -> bytes:
    """Wrap ``pdu`` in an MBAP header."""
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def register_data(request: Request, count: int | None = None) -> bytes:
    """Return the byte count and ``count`` registers (default: as asked), each holding its address."""
    count = request.count if count is None else count
    return struct.pack(">B", 2 * count) + b"".join(struct.pack(">H", request.address + i) for i in range(count))


def correct(request: Request) -> bytes:
    """Answer as a healthy device would (reads of registers only; writes are echoed)."""
    if request.function in (5, 6, 15, 16):
        return frame(request.tid, request.unit, struct.pack(">BHH", request.function, request.address, request.count))
    return frame(request.tid, request.unit, struct.pack(">B", request.function) + register_data(request))


def wrong_function(request: Request) -> bytes:
    """Answer an FC 3 read as if it were FC 4 (and the other way round)."""
    other = 4 if request.function == 3 else 3
    return frame(request.tid, request.unit, struct.pack(">B", other) + register_data(request))


def short(request: Request) -> bytes:
    """Answer with one register fewer than asked."""
    data = register_data(request, request.count - 1)
    return frame(request.tid, request.unit, struct.pack(">B", request.function) + data)


def other_unit(request: Request) -> bytes:
    """Answer from another unit id."""
    return frame(request.tid, (request.unit + 1) % 256, struct.pack(">B", request.function) + register_data(request))


def transaction_zero(request: Request) -> bytes:
    """Answer with transaction id 0, whatever was asked."""
    return frame(0, request.unit, struct.pack(">B", request.function) + register_data(request))


def exception(code: int) -> Callable[[Request], bytes]:
    """Answer every request with Modbus exception ``code``."""
    return lambda request: frame(request.tid, request.unit, struct.pack(">BB", request.function | 0x80, code))


class HostileModbus:
    """Serve Modbus TCP on a free loopback port, answering each request with ``answer(request)``."""

    def __init__(self, answer: Callable[[Request], bytes]) -> None:
        self.answer = answer
        self.port = free_port()
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1:``port``."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening and drop the connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> HostileModbus:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while header := await reader.readexactly(7):
                tid, _protocol, length, unit = struct.unpack(">HHHB", header)
                body = await reader.readexactly(length - 1)
                function, address, count = struct.unpack(">BHH", body[:5])
                self.requests += 1
                writer.write(self.answer(Request(tid, unit, function, address, count)))
                await writer.drain()
        writer.close()

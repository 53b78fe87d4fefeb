"""Modbus TCP (MBAP framing) with up to N requests in flight on one connection (``pipeline: N``).

pymodbus' client waits for each answer before sending the next request. Devices and gateways
that accept several outstanding transactions answer a whole read plan in about one round trip
when the requests are sent together. This client keeps pymodbus' request classes, framer and
decoder and only adds what pipelining needs: a transaction id per request, matching answers by
id (they may come in any order), at most ``depth`` requests outstanding, and a timeout per request.

It also serves ``pipeline: 1``, because it sees every frame: an answer whose transaction id
matches no outstanding request (pymodbus takes id 0 for any) means the connection is out of
step, so every outstanding request fails saying so, rather than waiting for its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable

from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer.socket import FramerSocket
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.decoders import DecodePDU

from gateway.core.errors import BadAnswer


class PipelinedTcpClient(ModbusClientMixin[Awaitable[ModbusPDU]]):
    """An async Modbus TCP client with up to ``depth`` outstanding requests."""

    def __init__(self, host: str, port: int, timeout: float, depth: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._host, self._port, self._timeout = host, port, timeout
        self._framer = FramerSocket(DecodePDU(is_server=False))
        self._slots = asyncio.Semaphore(depth)
        self._ids = itertools.cycle(range(1, 0x10000))
        self._pending: dict[int, asyncio.Future[ModbusPDU]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Return True while the connection is open."""
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> bool:
        """Open the connection (OSError or TimeoutError when it cannot be)."""
        reader, self._writer = await asyncio.wait_for(asyncio.open_connection(self._host, self._port), self._timeout)
        self._reading = asyncio.create_task(self._read_answers(reader))
        return True

    def close(self) -> None:
        """Close the connection; requests still waiting fail."""
        if self._reading is not None:
            self._reading.cancel()
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        self._fail_pending("connection closed")

    async def execute(self, no_response_expected: bool, request: ModbusPDU) -> ModbusPDU:
        """Send ``request`` as soon as a slot is free and wait for its own answer."""
        async with self._slots:
            if self._writer is None or self._writer.is_closing():
                raise ConnectionException("not connected")
            tid = next(self._ids)
            request.transaction_id = tid
            loop = asyncio.get_running_loop()
            answer: asyncio.Future[ModbusPDU] = loop.create_future()
            self._pending[tid] = answer
            # a timer on the future itself: wait_for would wrap each request in a task of its own
            expiry = loop.call_later(self._timeout, _expire, answer)
            try:
                self._writer.write(self._framer.buildFrame(request))
                return await answer
            except TimeoutError as exc:
                raise ModbusIOException(f"no answer to transaction {tid} in {self._timeout} s") from exc
            finally:
                expiry.cancel()
                self._pending.pop(tid, None)

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        try:
            while data := await reader.read(4096):
                buffer += data
                while buffer:
                    used, pdu = self._framer.handleFrame(buffer, 0, 0)
                    buffer = buffer[used:]
                    if pdu is None:
                        break
                    waiting = self._pending.get(pdu.transaction_id)
                    if waiting is None:
                        self._fail_pending(f"answer with transaction id {pdu.transaction_id} matches no "
                                           f"request (outstanding: {sorted(self._pending) or 'none'})", BadAnswer)
                    elif not waiting.done():
                        waiting.set_result(pdu)
        except (OSError, ModbusIOException):
            pass
        self._fail_pending("connection lost")
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()

    def _fail_pending(self, reason: str, error: type[Exception] = ConnectionException) -> None:
        for waiting in self._pending.values():
            if not waiting.done():
                waiting.set_exception(error(reason))


def _expire(answer: asyncio.Future[ModbusPDU]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())

"""pipeline: N keeps several requests outstanding on one connection and matches answers by transaction id."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from gateway.southbound import DataType, Point
from gateway_plugins.modbus.driver import ModbusTcpArgs, ModbusTcpDriver

# 40 INTs 10 registers apart: with max_gap 0, 40 separate requests
POINTS = [Point(f"v{i}", f"4{10 * i + 1:05d}", DataType.INT) for i in range(40)]


@dataclass
class ReorderingPlc:
    """A Modbus TCP peer that holds requests back and answers the latest first (each register = its address)."""

    hold: int
    most_outstanding: int = 0
    waiting: list[tuple[int, int, int, int]] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while header := await reader.readexactly(7):
            tid, _pid, length, unit = struct.unpack(">HHHB", header)
            function, address, count = struct.unpack(">BHH", await reader.readexactly(length - 1))
            assert function == 3
            self.waiting.append((tid, unit, address, count))
            self.most_outstanding = max(self.most_outstanding, len(self.waiting))
            if len(self.waiting) >= self.hold:
                await asyncio.sleep(0.01)
                for tid, unit, address, count in reversed(self.waiting):
                    body = struct.pack(">BB", 3, 2 * count) + b"".join(struct.pack(">H", address + i)
                                                                       for i in range(count))
                    writer.write(struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body)
                self.waiting.clear()


@pytest.fixture(params=[1, 4], ids=["in-order", "reordering"])
async def reordering_plc(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ReorderingPlc, int]]:
    plc = ReorderingPlc(hold=request.param)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            await plc.serve(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield plc, server.sockets[0].getsockname()[1]
    server.close()


async def test_pipelined_answers_are_matched_by_transaction_id(reordering_plc: tuple[ReorderingPlc, int]) -> None:
    """In order or latest first, every value lands on its own point; never more than N outstanding."""
    plc, port = reordering_plc
    args = ModbusTcpArgs(max_gap=0, pipeline=4)
    driver = ModbusTcpDriver(f"127.0.0.1:{port}", 2.0, args)
    points = POINTS[:16]
    await driver.connect()
    try:
        result = await driver.read(ModbusTcpDriver.plan(points, args))
    finally:
        await driver.close()
    assert result.values == {p.name: 10 * i for i, p in enumerate(points)}  # each register holds its address
    assert plc.most_outstanding == plc.hold  # the peer saw up to N requests before answering


async def test_one_request_at_a_time_without_pipelining() -> None:
    plc = ReorderingPlc(hold=1)
    server = await asyncio.start_server(
        lambda r, w: plc.serve(r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    args = ModbusTcpArgs(max_gap=0)
    driver = ModbusTcpDriver(f"127.0.0.1:{port}", 2.0, args)
    await driver.connect()
    try:
        result = await driver.read(ModbusTcpDriver.plan(POINTS[:8], args))
    finally:
        await driver.close()
        server.close()
    assert result.values == {p.name: 10 * i for i, p in enumerate(POINTS[:8])}
    assert plc.most_outstanding == 1


@pytest.mark.parametrize(("raw", "reason"), [
    ({"pipeline": 17}, "between 1 and 16"),
    ({"pipeline": 4, "framer": "rtu"}, "cannot pipeline"),
])
def test_pipeline_settings_are_checked(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        ModbusTcpArgs.model_validate(raw)

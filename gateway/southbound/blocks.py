"""Read a plan of blocks the same way in every block-oriented driver.

Each block is one request; a block the device rejects marks only its own points bad, and a
point that fails to decode marks only itself. A lost connection (any other DriverError) ends the
read, as the poller must reconnect.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from gateway.errors import DeviceRejected

from .points import Point, ReadResult


class Block(Protocol):
    """What the shared reader needs of a driver's block."""

    @property
    def members(self) -> Sequence[tuple[Point, Any]]: ...


BlockT = TypeVar("BlockT", bound=Block)
DataT = TypeVar("DataT")


async def read_blocks(
    blocks: Sequence[BlockT],
    fetch: Callable[[BlockT], Awaitable[DataT]],
    decode: Callable[[BlockT, Point, Any, DataT], Any],
) -> ReadResult:
    """Fetch every block and decode its members into one result."""
    result = ReadResult()
    for block in blocks:
        try:
            data = await fetch(block)
        except DeviceRejected as exc:
            for point, _ in block.members:
                result.errors[point.name] = str(exc)
            continue
        for point, address in block.members:
            try:
                result.values[point.name] = decode(block, point, address, data)
            except (ValueError, struct.error) as exc:
                result.errors[point.name] = str(exc)
    return result


def describe_blocks(blocks: Sequence[Block], unit: str) -> str:
    """Summarise a block plan for the log: points and requests."""
    points = sum(len(b.members) for b in blocks)
    return f"{points} point(s) in {len(blocks)} {unit}(s)"

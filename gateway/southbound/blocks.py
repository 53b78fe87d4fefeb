"""Read a plan of blocks the same way in every block-oriented driver.

Each block is one request. A block the device rejects for a transient reason marks its points
bad for this cycle. A block rejected because an address does not exist is bisected once to find
the points at fault: they are reported and left out of later reads, the rest are read in the
sub-blocks that proved readable. A point that fails to decode marks only itself. A lost
connection (any other DriverError) ends the read, as the poller must reconnect.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from gateway.core.errors import DeviceRejected, IllegalAddress

from .driver import ReadPlan
from .points import Point, ReadResult


class Block(Protocol):
    """What the shared reader needs of a driver's block."""

    @property
    def members(self) -> Sequence[tuple[Point, Any]]: ...


BlockT = TypeVar("BlockT", bound=Block)
DataT = TypeVar("DataT")
Members = list[tuple[Point, Any]]


@dataclass
class BlockPlan(ReadPlan, Generic[BlockT]):
    """Blocks to read each cycle, and the points the device refused (left out until a reconnect)."""

    blocks: list[BlockT]
    rejected: dict[str, str] = field(default_factory=dict)
    _planned: list[BlockT] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._planned = list(self.blocks)

    @property
    def request_count(self) -> int:  # type: ignore[override]
        """Return the number of requests one cycle sends."""
        return len(self.blocks)

    def reset(self) -> None:
        """Go back to the planned blocks: a reconnected PLC may have a new program."""
        self.blocks = list(self._planned)
        self.rejected.clear()

    def replace(self, blocks: list[BlockT]) -> None:
        """Adopt a new plan (e.g. for a different PDU size) and forget what the old one learned."""
        self._planned = list(blocks)
        self.reset()


def decode_members(decode: Callable[[BlockT, Point, Any, DataT], Any]) -> Callable[[BlockT, DataT, ReadResult], None]:
    """Return a block decoder that decodes each member on its own with ``decode(block, point,
    address, data)``: a member that cannot be decoded is an error of that member only."""
    def decode_block(block: BlockT, data: DataT, result: ReadResult) -> None:
        for point, address in block.members:
            try:
                result.values[point.name] = decode(block, point, address, data)
            except (ValueError, struct.error) as exc:
                result.errors[point.name] = str(exc)
    return decode_block


async def read_blocks(
    plan: BlockPlan[BlockT],
    fetch: Callable[[BlockT], Awaitable[DataT]],
    decode: Callable[[BlockT, DataT, ReadResult], None],
    narrow: Callable[[BlockT, Members], BlockT],
    concurrency: int = 1,
) -> ReadResult:
    """Fetch every block of ``plan`` and decode its members into one result.

    ``decode(block, data, result)`` puts the block's values (and members that cannot be decoded)
    into ``result``; :func:`decode_members` makes one from a decoder of single members.
    ``narrow(block, members)`` returns the smallest block of the same kind covering ``members``.
    With ``concurrency`` above 1 the blocks are requested together (the driver bounds how many
    are outstanding); the result is the same as reading them one by one.
    """
    result = ReadResult(errors=dict(plan.rejected))
    kept: list[BlockT] = []
    answers = await _fetch_all(plan.blocks, fetch, concurrency)
    for block, answer in zip(plan.blocks, answers, strict=True):
        try:
            if isinstance(answer, DeviceRejected):
                raise answer
            fetched = [(block, answer)]
        except IllegalAddress as exc:
            try:
                fetched, bad = await _bisect(block, exc, fetch, narrow)
            except DeviceRejected as transient:
                _fail_members(block, transient, result)
                kept.append(block)
                continue
            plan.rejected.update(bad)
            result.errors.update(bad)
            result.newly_rejected.update(bad)
        except DeviceRejected as exc:
            _fail_members(block, exc, result)
            kept.append(block)
            continue
        for part, data in fetched:
            kept.append(part)
            decode(part, data, result)
    plan.blocks = kept
    return result


async def _fetch_all(
    blocks: Sequence[BlockT], fetch: Callable[[BlockT], Awaitable[DataT]], concurrency: int
) -> list[DataT | DeviceRejected]:
    """Fetch every block; a rejection is returned in its place, any other error is raised."""
    async def one(block: BlockT) -> DataT | DeviceRejected:
        try:
            return await fetch(block)
        except DeviceRejected as exc:
            return exc

    if concurrency <= 1:
        return [await one(block) for block in blocks]
    tasks = [asyncio.ensure_future(one(block)) for block in blocks]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:  # the connection is gone: stop the others too, and collect them
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _bisect(
    block: BlockT, error: IllegalAddress, fetch: Callable[[BlockT], Awaitable[DataT]],
    narrow: Callable[[BlockT, Members], BlockT],
) -> tuple[list[tuple[BlockT, DataT]], dict[str, str]]:
    """Split a rejected block until every member is in a readable block or known bad."""
    members = list(block.members)
    if len(members) == 1:
        point = members[0][0]
        return [], {point.name: f"{error} at {point.address}"}
    good: list[tuple[BlockT, DataT]] = []
    bad: dict[str, str] = {}
    half = len(members) // 2
    for part in (members[:half], members[half:]):
        sub_block = narrow(block, part)
        try:
            good.append((sub_block, await fetch(sub_block)))
        except IllegalAddress as exc:
            found_good, found_bad = await _bisect(sub_block, exc, fetch, narrow)
            good += found_good
            bad.update(found_bad)
    return good, bad


def _fail_members(block: Block, error: Exception, result: ReadResult) -> None:
    for point, _ in block.members:
        result.errors[point.name] = str(error)


def describe_blocks(blocks: Sequence[Block], unit: str) -> str:
    """Summarise a block plan for the log: points and requests."""
    points = sum(len(b.members) for b in blocks)
    return f"{points} point(s) in {len(blocks)} {unit}(s)"

"""Plan S7 reads (pure): merge points of one area/DB into byte ranges that fit one PDU.

A read reply carries at most PDU size minus 18 header bytes; ranges bridge gaps of up to
``max_gap`` bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.southbound import Point
from gateway.southbound.blocks import BlockPlan

from .addresses import S7Address, byte_span, check_point

HEADER_BYTES = 18
MIN_PDU = 240  # every S7 CPU negotiates at least this


@dataclass
class Block:
    """One area read and the points decoded from it."""

    area: str
    db: int
    start: int
    size: int
    members: list[tuple[Point, S7Address]] = field(default_factory=list)


@dataclass
class S7Plan(BlockPlan[Block]):
    """The byte ranges to read each cycle, and what they were planned from (to re-plan for a PDU)."""

    pdu_size: int = MIN_PDU
    max_gap: int = 16
    points: list[Point] = field(default_factory=list)

    def fit_pdu(self, pdu_size: int) -> bool:
        """Re-plan for the PDU size the PLC negotiated; return True when the blocks changed."""
        if pdu_size == self.pdu_size:
            return False
        self.replace(plan_reads(self.points, self.max_gap, pdu_size).blocks)
        self.pdu_size = pdu_size
        return True


def narrow(block: Block, members: list[tuple[Point, S7Address]]) -> Block:
    """Return the smallest range of ``block``'s area covering ``members``."""
    start = min(address.byte for _, address in members)
    end = max(address.byte + byte_span(point) for point, address in members)
    return Block(block.area, block.db, start, end - start, list(members))


def plan_reads(points: Sequence[Point], max_gap: int, pdu_size: int) -> S7Plan:
    """Build the plan; every point lands in exactly one block no larger than one reply."""
    max_bytes = pdu_size - HEADER_BYTES
    located = sorted(((check_point(p), p) for p in points), key=lambda item: _order(item[0]))
    blocks: list[Block] = []
    for address, point in located:
        end = address.byte + byte_span(point)
        current = blocks[-1] if blocks else None
        if (
            current is not None
            and (current.area, current.db) == (address.area, address.db)
            and address.byte - (current.start + current.size) <= max_gap
            and end - current.start <= max_bytes
        ):
            current.size = max(current.size, end - current.start)
        else:
            current = Block(address.area, address.db, address.byte, end - address.byte)
            blocks.append(current)
        current.members.append((point, address))
    return S7Plan(blocks, pdu_size=pdu_size, max_gap=max_gap, points=list(points))


def _order(address: S7Address) -> tuple[str, int, int, int]:
    """Sort by area, DB and byte; a whole byte before its bits (bit is None for it)."""
    return address.area, address.db, address.byte, -1 if address.bit is None else address.bit

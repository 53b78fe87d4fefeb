"""Plan Modbus reads (pure): merge a controller's points into the fewest legal requests.

Points of one area are sorted and merged while the gap between them is at most ``max_gap``
registers (bits for coils and inputs) and the block stays within the protocol limit: 125
registers or 2000 bits per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.southbound import Point
from gateway.southbound.blocks import BlockPlan

from .addresses import Area, ModbusAddress, check_point, register_count
from .codec import BlockDecoder

MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass
class Block:
    """One read request and the points decoded from it."""

    area: Area
    start: int
    count: int
    members: list[tuple[Point, ModbusAddress]] = field(default_factory=list)
    decoder: BlockDecoder | None = field(default=None, compare=False, repr=False)  # compiled on first read


class ModbusPlan(BlockPlan[Block]):
    """The blocks to read each cycle, in address order."""


def narrow(block: Block, members: list[tuple[Point, ModbusAddress]]) -> Block:
    """Return the smallest block of ``block``'s area covering ``members``."""
    start = min(address.offset for _, address in members)
    end = max(address.offset + register_count(point) for point, address in members)
    return Block(block.area, start, end - start, list(members))


def plan_reads(points: Sequence[Point], max_gap: int, max_registers: int) -> ModbusPlan:
    """Build the plan; every point lands in exactly one block."""
    located = sorted(((check_point(p), p) for p in points), key=lambda item: _order(item[0]))
    blocks: list[Block] = []
    for address, point in located:
        span = register_count(point)
        limit = MAX_BITS if address.area.is_bits else min(max_registers, MAX_REGISTERS)
        current = blocks[-1] if blocks else None
        end = address.offset + span
        if (
            current is not None
            and current.area is address.area
            and address.offset - (current.start + current.count) <= max_gap
            and end - current.start <= limit
        ):
            current.count = max(current.count, end - current.start)
        else:
            current = Block(address.area, address.offset, span)
            blocks.append(current)
        current.members.append((point, address))
    return ModbusPlan(blocks)


def _order(address: ModbusAddress) -> tuple[int, int, int]:
    """Sort by area and offset; a whole register before its bits (bit is None for it)."""
    return address.area, address.offset, -1 if address.bit is None else address.bit

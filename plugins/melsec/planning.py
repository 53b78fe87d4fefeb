"""Plan MELSEC reads (pure): merge a controller's devices into the fewest batch reads.

Points of one device kind are sorted by word and merged while the gap between them is at most
``max_gap`` words and the read stays within the frame's 960 words, as the Modbus planner does
with registers. Bit devices are read 16 to the word, so M0 to M959 is one word read of 60 words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.southbound import Point
from gateway.southbound.blocks import BlockPlan

from .addresses import Device, MelsecAddress, check_point, word_count
from .frames import MAX_WORDS


@dataclass
class Block:
    """One batch read: a device kind, its first word and how many words, and the points in it."""

    device: Device
    start: int  # in words (for a bit device: its number // 16)
    count: int
    members: list[tuple[Point, MelsecAddress]] = field(default_factory=list)


class MelsecPlan(BlockPlan[Block]):
    """The batch reads of each cycle, in device and address order."""


def narrow(block: Block, members: list[tuple[Point, MelsecAddress]]) -> Block:
    """Return the smallest read of ``block``'s device covering ``members``."""
    start = min(address.word for _, address in members)
    end = max(address.word + word_count(point, address) for point, address in members)
    return Block(block.device, start, end - start, list(members))


def plan_reads(points: Sequence[Point], max_gap: int, max_words: int = MAX_WORDS) -> MelsecPlan:
    """Build the plan; every point lands in exactly one block of at most ``max_words`` words."""
    limit = min(max_words, MAX_WORDS)
    located = sorted(((check_point(p), p) for p in points), key=lambda item: (item[0].device.code, item[0].word))
    blocks: list[Block] = []
    for address, point in located:
        span = word_count(point, address)
        current = blocks[-1] if blocks else None
        end = address.word + span
        if (current is not None and current.device == address.device
                and address.word - (current.start + current.count) <= max_gap and end - current.start <= limit):
            current.count = max(current.count, end - current.start)
        else:
            current = Block(address.device, address.word, span)
            blocks.append(current)
        current.members.append((point, address))
    return MelsecPlan(blocks)

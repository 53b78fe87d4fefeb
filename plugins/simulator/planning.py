"""Plan simulator reads (pure): all points are produced in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.southbound import Point, ReadPlan

from .addresses import WaveAddress, parse_address


@dataclass
class SimulatorPlan(ReadPlan):
    """Every point with its parsed waveform; one 'request' per cycle."""

    points: list[tuple[Point, WaveAddress]]
    request_count: int = 1


def plan_reads(points: Sequence[Point]) -> SimulatorPlan:
    """Parse every address once."""
    return SimulatorPlan([(p, parse_address(p.address)) for p in points])

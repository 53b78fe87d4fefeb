"""Deterministic moving values for simulated PLCs (pure): a function of time and a seed."""

from __future__ import annotations

import math
import zlib
from typing import Any

from gateway.southbound import DataType

_RANGES = {
    DataType.BYTE: (0, 255), DataType.SINT: (-128, 127), DataType.WORD: (0, 65535),
    DataType.INT: (-32768, 32767), DataType.BCD: (0, 9999),
}


def seed_of(name: str) -> float:
    """Return a stable phase in [0, 1) for a point name, so points move out of step."""
    return (zlib.crc32(name.encode()) % 1000) / 1000


def wave(kind: str, t: float, period: float, phase: float) -> float:
    """Return a value in [0, 1] of the named waveform at time ``t``."""
    x = (t / period + phase) % 1.0
    if kind == "ramp":
        return x
    if kind == "square":
        return 1.0 if x < 0.5 else 0.0
    if kind == "triangle":
        return 1 - abs(2 * x - 1)
    return 0.5 + 0.5 * math.sin(2 * math.pi * x)


def value_at(dtype: DataType, t: float, name: str, length: int = 8) -> Any:
    """Return a plausible moving value of ``dtype`` for the point ``name`` at time ``t``."""
    phase = seed_of(name)
    if dtype.is_bit:
        return wave("square", t, 20.0, phase) > 0.5
    if dtype is DataType.STRING:
        return f"S{int(t) % 1000}"[:length]
    level = wave("sine", t, 60.0, phase)
    if dtype in (DataType.FLOAT, DataType.DOUBLE):
        return round(20.0 + 60.0 * level, 2)
    low, high = _RANGES.get(dtype, (0, 1000))
    low, high = max(low, 0), min(high, 1000)
    return int(low + (high - low) * level)

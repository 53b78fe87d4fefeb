"""Turn a waveform level in [0, 1] into a value of the point's type (pure)."""

from __future__ import annotations

from typing import Any

from gateway.southbound import DataType, Point


def to_value(point: Point, level: float, scale: float) -> Any:
    """Scale ``level`` to ``[0, scale]`` in the point's type."""
    if point.dtype.is_bit:
        return level >= 0.5
    if point.dtype is DataType.STRING:
        return f"{level * scale:.1f}"[: point.length or None]
    if point.dtype in (DataType.FLOAT, DataType.DOUBLE):
        return round(level * scale, 3)
    return int(level * scale)

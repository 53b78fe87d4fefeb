"""Turn raw PLC values into engineering values and back (pure)."""

from __future__ import annotations

from typing import Any

from gateway.config.schema import GainOffset, Measure, Ratio


def to_engineering(measure: Measure, raw: Any) -> Any:
    """Apply the measure's transform, then its ``decimal`` rounding, to a raw reading."""
    value = raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if isinstance(measure.transform, GainOffset):
            value = raw * measure.transform.gain + measure.transform.offset
        elif isinstance(measure.transform, Ratio):
            t = measure.transform
            value = t.min_scale + (raw - t.min_value) * (t.max_scale - t.min_scale) / (t.max_value - t.min_value)
        if measure.decimal is not None and isinstance(value, float):
            value = round(value, measure.decimal)
    return value


def to_raw(measure: Measure, value: Any) -> Any:
    """Invert the transform for a write; integer types get the nearest integer."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    raw: float = value
    if isinstance(measure.transform, GainOffset):
        if measure.transform.gain == 0:
            raise ValueError("cannot write through a transform with gain 0")
        raw = (value - measure.transform.offset) / measure.transform.gain
    elif isinstance(measure.transform, Ratio):
        t = measure.transform
        raw = t.min_value + (value - t.min_scale) * (t.max_value - t.min_value) / (t.max_scale - t.min_scale)
    if measure.type.struct_code in ("f", "d"):
        return float(raw)
    return round(raw) if measure.type.struct_code or measure.type.value == "BCD" else raw

"""Turn raw PLC values into engineering values and back (pure).

Transforms of Device Supervisor: ``gain_offset``, ``ratio``, ``pt_ct``, ``bit_slice`` and
``value_map``, then ``decimal`` rounding. Writes apply the inverse; a ``bit_slice`` has none (the
other bits of the word are unknown), so such measures cannot be written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gateway.config.schema import BitSlice, GainOffset, Measure, PtCt, Ratio, ValueMap


def to_engineering(measure: Measure, raw: Any) -> Any:
    """Apply the measure's transform, then its ``decimal`` rounding, to a raw reading."""
    transform = measure.transform
    value = raw
    if isinstance(transform, ValueMap):
        value = transform.map.get(raw, raw)
    elif _is_number(raw):
        if isinstance(transform, GainOffset):
            value = raw * transform.gain + transform.offset
        elif isinstance(transform, Ratio):
            value = transform.min_scale + (raw - transform.min_value) * _slope(transform)
        elif isinstance(transform, PtCt):
            value = raw * transform.pt * transform.ct
        elif isinstance(transform, BitSlice):
            width = transform.end - transform.start + 1
            value = (int(raw) >> transform.start) & ((1 << width) - 1)
    if measure.decimal is not None and isinstance(value, float):
        value = round(value, measure.decimal)
    return value


def engineering(measure: Measure) -> Callable[[Any], Any] | None:
    """Return the conversion of the measure's raw readings, or None when a reading is its own
    engineering value (no transform, no rounding): most measures, and no call per reading."""
    if measure.transform is None and measure.decimal is None:
        return None
    return functools.partial(to_engineering, measure)


def to_raw(measure: Measure, value: Any) -> Any:
    """Invert the transform for a write; raise ValueError when it cannot be inverted."""
    transform = measure.transform
    if isinstance(transform, ValueMap):
        for raw, name in transform.map.items():
            if name == value:
                return raw
        return value
    if isinstance(transform, BitSlice):
        raise ValueError(f"'{measure.name}' is a bit slice of a larger value and cannot be written")
    if transform is None or not _is_number(value):
        return value
    if isinstance(transform, GainOffset):
        if transform.gain == 0:
            raise ValueError("cannot write through a transform with gain 0")
        return (value - transform.offset) / transform.gain
    if isinstance(transform, Ratio):
        if transform.max_scale == transform.min_scale:
            raise ValueError("cannot write through a ratio whose scale is a single value")
        return transform.min_value + (value - transform.min_scale) / _slope(transform)
    assert isinstance(transform, PtCt)
    return value / (transform.pt * transform.ct)


def _slope(ratio: Ratio) -> float:
    return (ratio.max_scale - ratio.min_scale) / (ratio.max_value - ratio.min_value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

"""Check a value against a point's type before it is written (pure).

A write that cannot fit is refused with the reason, never truncated or wrapped around. What a
cloud may send: a bit takes true/false or 0/1; a number type takes a JSON number, or a string
holding a plain decimal number ("43", "-1.5", "2e3"), as dashboards often send; it never takes
true/false (``true`` is not 1), nor "nan", "inf", " 43" or "0x10". A list (for an array: an
OPC UA array node, a Logix ``Tag[0]{n}``) is checked element by element, up to 1,000 of them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .points import DataType, Point

_INTEGER_RANGES = {
    DataType.BYTE: (0, 2**8 - 1), DataType.SINT: (-(2**7), 2**7 - 1),
    DataType.WORD: (0, 2**16 - 1), DataType.INT: (-(2**15), 2**15 - 1),
    DataType.DWORD: (0, 2**32 - 1), DataType.DINT: (-(2**31), 2**31 - 1),
    DataType.ULONG: (0, 2**64 - 1), DataType.LONG: (-(2**63), 2**63 - 1),
    DataType.BCD: (0, 9999),
}
_FLOAT32_MAX = 3.4028234663852886e38
_DECIMAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", re.ASCII)
_WHOLE = re.compile(r"-?\d+", re.ASCII)


MAX_ELEMENTS = 1000


def accepted_input(point: Point, value: Any) -> Any:
    """Return a value from outside (a cloud message, a script, the UI) as the engineering value it
    stands for, before any transform; raise ValueError for one the point's type does not take."""
    if isinstance(value, list):
        return [accepted_input(point, item) for item in _elements(value)]
    if point.dtype.is_bit:
        if isinstance(value, bool) or (type(value) is int and value in (0, 1)):
            return bool(value)
        raise ValueError(f"{value!r} is not a bit value (use true/false or 0/1)")
    if point.dtype is DataType.STRING:
        return value
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number, as {point.dtype} needs")
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"{value!r} is not a number, as {point.dtype} needs")
        return int(value) if _WHOLE.fullmatch(value) else float(value)
    if not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number, as {point.dtype} needs")
    return value


def checked_value(point: Point, value: Any) -> Any:
    """Return ``value`` converted for ``point``'s type, or raise ValueError saying why it cannot be."""
    if isinstance(value, list):
        return [checked_value(point, item) for item in _elements(value)]
    dtype = point.dtype
    if dtype.is_bit:
        if isinstance(value, bool) or (type(value) is int and value in (0, 1)):
            return bool(value)
        raise ValueError(f"{value!r} is not a bit value (use true/false or 0/1)")
    if dtype is DataType.STRING:
        text = str(value)
        try:
            size = len(text.encode(point.encoding))
        except UnicodeEncodeError:
            raise ValueError(f"'{text}' has characters that are not {point.encoding}") from None
        if size > point.length:
            raise ValueError(f"'{text}' is longer than the {point.length} bytes of {point.name}")
        return text
    number = _number(value)
    if dtype in (DataType.FLOAT, DataType.DOUBLE):
        if not math.isfinite(number) or (dtype is DataType.FLOAT and abs(number) > _FLOAT32_MAX):
            raise ValueError(f"{value!r} does not fit a {dtype}")
        return float(number)
    if not float(number).is_integer():
        raise ValueError(f"{value!r} is not a whole number, as {dtype} needs")
    low, high = _INTEGER_RANGES[dtype]
    integer = int(number)
    if not low <= integer <= high:
        raise ValueError(f"{value!r} is out of range for {dtype} ({low} to {high})")
    return integer


def _elements(values: list[Any]) -> list[Any]:
    if not 1 <= len(values) <= MAX_ELEMENTS:
        raise ValueError(f"an array value has 1 to {MAX_ELEMENTS} elements, not {len(values)}")
    if any(isinstance(item, list | dict) for item in values):
        raise ValueError("an array value holds single values, not lists or objects")
    return values


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number")
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None

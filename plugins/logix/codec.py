"""Convert between pylogix values and a measure's type (pure).

pylogix decodes each tag by the type the controller reports (REAL to float, DINT to int, BOOL to
bool, STRING to str); a measure takes the value when it is of the measure's kind and refuses it
with the reason otherwise, so a wrong tag or type never passes as a good value. ``{n}`` reads
arrive as lists and stay lists of the measure's type.
"""

from __future__ import annotations

from typing import Any

from gateway.southbound import DataType, Point

CIP_TYPE = {  # the measure's type -> the Logix atomic type of the same size and sign
    DataType.BIT: "BOOL", DataType.BOOL: "BOOL", DataType.BYTE: "USINT", DataType.SINT: "SINT",
    DataType.WORD: "UINT", DataType.INT: "INT", DataType.DWORD: "UDINT", DataType.DINT: "DINT",
    DataType.ULONG: "ULINT", DataType.LONG: "LINT", DataType.FLOAT: "REAL", DataType.DOUBLE: "LREAL",
    DataType.STRING: "STRING",
}


def decode(point: Point, value: Any) -> Any:
    """Return the controller's ``value`` as the measure's value, or raise ValueError saying why
    the measure cannot take it."""
    if isinstance(value, list):
        return [decode(point, item) for item in value]
    if value is None:
        raise ValueError("the controller sent no value")
    dtype = point.dtype
    if dtype.is_bit:
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise ValueError(f"the tag holds {_shown(value)}, not a bit")
    if dtype is DataType.STRING:
        if not isinstance(value, str):
            raise ValueError(f"the tag holds {_shown(value)}, not text")
        return value
    if isinstance(value, str) or not isinstance(value, int | float):
        raise ValueError(f"the tag holds {_shown(value)}, not a number")
    if dtype in (DataType.FLOAT, DataType.DOUBLE):
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"the tag holds {value}, not the whole number {dtype} needs")
    return int(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

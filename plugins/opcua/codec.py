"""Convert between OPC UA values and a measure's type (pure).

A server sends typed values (a Variant): a measure takes the value when it is of the measure's
kind (a number for a number type, true/false for a bit, text for a STRING) and refuses it with
the reason otherwise, so that a wrong NodeId or type never passes as a good value. Arrays arrive
as lists and are kept as lists of the measure's type. A write goes out as the Variant type the
node itself holds when it has been read (servers refuse a Float for a Double node), else as the
type that matches the measure's.
"""

from __future__ import annotations

import datetime
from typing import Any

from gateway.southbound import DataType, Point

VARIANT_OF = {  # the measure's type -> the OPC UA built-in type of the same size and sign
    DataType.BIT: "Boolean", DataType.BOOL: "Boolean", DataType.BYTE: "Byte", DataType.SINT: "SByte",
    DataType.WORD: "UInt16", DataType.INT: "Int16", DataType.DWORD: "UInt32", DataType.DINT: "Int32",
    DataType.ULONG: "UInt64", DataType.LONG: "Int64", DataType.FLOAT: "Float", DataType.DOUBLE: "Double",
    DataType.STRING: "String",
}
MEASURE_OF = {  # an OPC UA built-in type's numeric id (ns=0) -> the measure type that reads it
    1: DataType.BOOL, 2: DataType.SINT, 3: DataType.BYTE, 4: DataType.INT, 5: DataType.WORD, 6: DataType.DINT,
    7: DataType.DWORD, 8: DataType.LONG, 9: DataType.ULONG, 10: DataType.FLOAT, 11: DataType.DOUBLE,
    12: DataType.STRING, 13: DataType.STRING, 21: DataType.STRING,  # String, DateTime, LocalizedText
}
_NUMBER_VARIANTS = {"Byte", "SByte", "UInt16", "Int16", "UInt32", "Int32", "UInt64", "Int64", "Float", "Double",
                    "Boolean"}
_TEXT_VARIANTS = {"String", "LocalizedText", "DateTime", "Guid", "ByteString", "QualifiedName", "NodeId"}


def decode(point: Point, value: Any, variant: str) -> Any:
    """Return the server's ``value`` (of built-in type ``variant``) as the measure's value, or
    raise ValueError saying why the measure cannot take it."""
    if isinstance(value, list):
        return [decode(point, item, variant) for item in value]
    if value is None:
        raise ValueError("the server sent no value (Null)")
    dtype = point.dtype
    if dtype.is_bit:
        if variant == "Boolean" or (variant in _NUMBER_VARIANTS and value in (0, 1)):
            return bool(value)
        raise ValueError(f"the node holds a {variant} ({_shown(value)}), not a bit")
    if dtype is DataType.STRING:
        if variant not in _TEXT_VARIANTS:
            raise ValueError(f"the node holds a {variant} ({_shown(value)}), not text")
        return _text(value)
    if variant not in _NUMBER_VARIANTS or isinstance(value, str):
        raise ValueError(f"the node holds a {variant} ({_shown(value)}), not a number")
    if dtype in (DataType.FLOAT, DataType.DOUBLE):
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"the node holds {value} ({variant}), not the whole number {dtype} needs")
    return int(value)


def write_variant(point: Point, node_variant: str | None) -> str:
    """Return the built-in type to write ``point`` with: the node's own when known."""
    return node_variant or VARIANT_OF[point.dtype]


def _text(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    text = getattr(value, "Text", None)  # a LocalizedText
    return str(text if text is not None else value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

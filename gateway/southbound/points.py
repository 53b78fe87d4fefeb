"""Core types shared by every driver: data types, byte orders, points and read results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gateway.core.source import SourceStamp


class DataType(enum.StrEnum):
    """PLC value types, named as in Device Supervisor."""

    BIT = "BIT"
    BOOL = "BOOL"
    BYTE = "BYTE"
    SINT = "SINT"
    WORD = "WORD"
    INT = "INT"
    DWORD = "DWORD"
    DINT = "DINT"
    ULONG = "ULONG"
    LONG = "LONG"
    FLOAT = "FLOAT"
    DOUBLE = "DOUBLE"
    STRING = "STRING"
    BCD = "BCD"

    @property
    def is_bit(self) -> bool:
        """Return True for single-bit types."""
        return self in (DataType.BIT, DataType.BOOL)

    @property
    def size(self) -> int:
        """Return the size in bytes (0 for bits; strings take their configured length)."""
        return _SIZES[self]

    @property
    def struct_code(self) -> str:
        """Return the ``struct`` code of a numeric type ('' for bits, strings and BCD)."""
        return _STRUCT_CODES.get(self, "")


_SIZES = {
    DataType.BIT: 0, DataType.BOOL: 0, DataType.BYTE: 1, DataType.SINT: 1,
    DataType.WORD: 2, DataType.INT: 2, DataType.BCD: 2, DataType.DWORD: 4, DataType.DINT: 4,
    DataType.FLOAT: 4, DataType.ULONG: 8, DataType.LONG: 8, DataType.DOUBLE: 8,
    DataType.STRING: 0,
}
_STRUCT_CODES = {
    DataType.BYTE: "B", DataType.SINT: "b", DataType.WORD: "H", DataType.INT: "h",
    DataType.DWORD: "I", DataType.DINT: "i", DataType.FLOAT: "f", DataType.ULONG: "Q",
    DataType.LONG: "q", DataType.DOUBLE: "d",
}


class ByteOrder(enum.StrEnum):
    """Order of the bytes of a 32- or 64-bit value, as Device Supervisor names them.

    ``abcd`` is big-endian, ``dcba`` little-endian, ``cdab`` swaps 16-bit words and ``badc``
    swaps the bytes inside each word.
    """

    ABCD = "abcd"
    BADC = "badc"
    CDAB = "cdab"
    DCBA = "dcba"


@dataclass(frozen=True, slots=True)
class Point:
    """One measure as a driver sees it: where it lives and how to decode it."""

    name: str
    address: str
    dtype: DataType
    length: int = 0
    byte_order: ByteOrder = ByteOrder.ABCD
    encoding: str = "utf-8"  # of STRING values: "utf-8" or "ascii"

    def __post_init__(self) -> None:
        # Accept plain strings ("FLOAT", "cdab") but always hold the enums, so comparisons are exact
        # (a configuration's points come with enums already: the enum call is skipped for them).
        if type(self.dtype) is not DataType:
            object.__setattr__(self, "dtype", DataType(self.dtype))
        if type(self.byte_order) is not ByteOrder:
            object.__setattr__(self, "byte_order", ByteOrder(self.byte_order))


@dataclass
class ReadResult:
    """Outcome of reading a plan: a value or an error text for every point name.

    ``newly_rejected`` names the points whose addresses the device refused for the first time
    in this read; they are left out of later reads (and stay in ``errors``). ``sources`` holds
    the device's own timestamp and quality of values, by point name, where the protocol has them.
    """

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    newly_rejected: dict[str, str] = field(default_factory=dict)
    sources: dict[str, SourceStamp] = field(default_factory=dict)

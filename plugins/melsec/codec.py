"""Decode and encode values in MELSEC words (pure).

The CPU stores words little-endian and a 32- or 64-bit value low word first (D100 holds the low
half of a DINT in D100/D101), so a value's bytes are the words' bytes in order, read
little-endian; a STRING is its bytes in that order, low byte of each word first.
"""

from __future__ import annotations

import struct
from typing import Any

from gateway.southbound import DataType, Point

from .addresses import MelsecAddress


def decode(point: Point, address: MelsecAddress, data: bytes, offset: int) -> Any:
    """Decode a point whose first word is word ``offset`` of ``data``."""
    if address.device.bits:
        word = int.from_bytes(data[offset * 2: offset * 2 + 2], "little")
        return bool(word >> (address.number % 16) & 1)
    if address.bit is not None:
        word = int.from_bytes(data[offset * 2: offset * 2 + 2], "little")
        return bool(word >> address.bit & 1)
    start = offset * 2
    if point.dtype is DataType.STRING:
        return data[start: start + point.length].split(b"\x00", 1)[0].decode(point.encoding, errors="replace")
    size = max(2, point.dtype.size)
    chunk = data[start: start + size]
    if len(chunk) < size:
        raise ValueError(f"the answer ends before {point.address}")
    if point.dtype in (DataType.BYTE, DataType.SINT):
        chunk = chunk[:1]
    value = struct.unpack("<" + point.dtype.struct_code, chunk)[0]
    if point.dtype is DataType.FLOAT:
        value = float(f"{value:.7g}")
    return value


def encode(point: Point, value: Any) -> bytes:
    """Encode a value of a word device into its words' bytes."""
    if point.dtype is DataType.STRING:
        size = point.length + point.length % 2
        return str(value).encode(point.encoding)[: point.length].ljust(size, b"\x00")
    number: float | int = float(value) if point.dtype in (DataType.FLOAT, DataType.DOUBLE) else int(value)
    data = struct.pack("<" + point.dtype.struct_code, number)
    return data.ljust(2, b"\x00") if point.dtype in (DataType.BYTE, DataType.SINT) else data


def with_bit(word: bytes, bit: int, on: bool) -> bytes:
    """Return a word's bytes with one bit set or cleared."""
    value = int.from_bytes(word, "little")
    value = value | (1 << bit) if on else value & ~(1 << bit) & 0xFFFF
    return value.to_bytes(2, "little")

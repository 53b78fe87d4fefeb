"""Decode and encode S7 values (pure): big-endian, bits numbered 0-7 within a byte."""

from __future__ import annotations

import struct
from typing import Any

from gateway.southbound import DataType, Point

from .addresses import byte_span


def decode(point: Point, bit: int | None, data: bytes | bytearray, offset: int) -> Any:
    """Decode a point whose first byte is ``data[offset]``."""
    if bit is not None:
        return bool(data[offset] >> bit & 1)
    chunk = bytes(data[offset : offset + byte_span(point)])
    if point.dtype is DataType.STRING:
        return chunk.split(b"\x00", 1)[0].decode(point.encoding, errors="replace")
    if point.dtype is DataType.BCD:
        text = chunk.hex()
        if not text.isdigit():
            raise ValueError(f"0x{text} is not BCD")
        return int(text)
    value = struct.unpack(">" + point.dtype.struct_code, chunk)[0]
    if point.dtype is DataType.FLOAT:
        value = float(f"{value:.7g}")
    return value


def encode(point: Point, value: Any) -> bytes:
    """Encode a value (not a bit) into its bytes."""
    if point.dtype is DataType.STRING:
        return str(value).encode(point.encoding)[: point.length].ljust(point.length, b"\x00")
    if point.dtype is DataType.BCD:
        digits = int(value)
        if not 0 <= digits <= 9999:
            raise ValueError(f"{value} does not fit a 4-digit BCD")
        return bytes.fromhex(f"{digits:04d}")
    number: float | int = float(value) if point.dtype in (DataType.FLOAT, DataType.DOUBLE) else int(value)
    return struct.pack(">" + point.dtype.struct_code, number)


def set_bit(byte: int, bit: int, value: bool) -> int:
    """Return ``byte`` with one bit set or cleared."""
    return byte | (1 << bit) if value else byte & ~(1 << bit) & 0xFF

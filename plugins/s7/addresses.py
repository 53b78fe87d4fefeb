"""Parse S7 addresses (pure).

Device Supervisor forms ``DB3.6``, ``DB3.0.1``, ``M16.1``, ``I0.0``, ``Q2`` and Siemens forms
``DB6.DBD18``, ``DB1.DBX0.1``, ``DB1.DBW2``, ``DB1.DBB4``, ``%IW3``, ``%MD4``, ``%Q0.1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point

_EXAMPLES = "expected e.g. DB3.6, DB3.0.1, M16.1, I0.0, DB6.DBD18, DB1.DBX0.1, %IW3, %MD4"
_DB_FORM = re.compile(r"^DB(\d+)\.(?:DB([XBWD]))?(\d+)(?:\.(\d+))?$", re.IGNORECASE)
_AREA_FORM = re.compile(r"^%?([MIQ])([XBWD])?(\d+)(?:\.(\d+))?$", re.IGNORECASE)
_WIDTH = {"B": 1, "W": 2, "D": 4}


@dataclass(frozen=True, slots=True)
class S7Address:
    """A parsed address: area letter (DB, M, I, Q), DB number, byte offset and optional bit."""

    area: str
    db: int
    byte: int
    bit: int | None = None
    width: int | None = None  # from a Siemens size letter, checked against the type


def parse_address(text: str) -> S7Address:
    """Parse ``text`` or raise AddressError naming the accepted forms."""
    raw = text.strip()
    if match := _DB_FORM.match(raw):
        area, db = "DB", int(match.group(1))
        letter, byte, bit = match.group(2), match.group(3), match.group(4)
        if db < 1:
            raise AddressError(f"'{text}' names DB0; data blocks start at DB1")
    elif match := _AREA_FORM.match(raw):
        area, db = match.group(1).upper(), 0
        letter, byte, bit = match.group(2), match.group(3), match.group(4)
    else:
        raise AddressError(f"'{text}' is not an S7 address ({_EXAMPLES})")
    letter = (letter or "").upper()
    bit_number = int(bit) if bit is not None else None
    if bit_number is not None and bit_number > 7:
        raise AddressError(f"'{text}' has bit {bit_number}; S7 bits are 0-7")
    if letter == "X" and bit_number is None:
        raise AddressError(f"'{text}' is a bit address and needs a bit, e.g. {raw}.0")
    if letter in _WIDTH and bit_number is not None:
        raise AddressError(f"'{text}' mixes a byte/word/dword size with a bit number")
    return S7Address(area, db, int(byte), bit_number, _WIDTH.get(letter))


def byte_span(point: Point) -> int:
    """Return how many bytes a point occupies."""
    if point.dtype.is_bit:
        return 1
    if point.dtype is DataType.STRING:
        return point.length
    return point.dtype.size


def check_point(point: Point) -> S7Address:
    """Parse the point's address and check it agrees with the type."""
    address = parse_address(point.address)
    if point.dtype.is_bit and address.bit is None:
        raise AddressError(f"'{point.address}' has no bit; a {point.dtype} needs e.g. {point.address}.0")
    if not point.dtype.is_bit and address.bit is not None:
        raise AddressError(f"'{point.address}' names a bit but the type is {point.dtype}")
    if point.dtype is DataType.STRING and point.length <= 0:
        raise AddressError("a STRING needs a length (in characters)")
    if address.width is not None and address.width != byte_span(point):
        raise AddressError(
            f"'{point.address}' is {address.width} byte(s) wide but {point.dtype} takes {byte_span(point)}"
        )
    return address

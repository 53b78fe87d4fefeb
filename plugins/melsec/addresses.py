"""Parse MELSEC device addresses (pure).

A device is its letters and its number as in GX Works: ``D100``, ``R2000``, ``ZR10000``, ``W1A``
(word devices); ``M20``, ``L5``, ``X1A``, ``Y1F``, ``B3F``, ``SM400`` (bit devices). X, Y, B, W,
SB and SW count in hexadecimal, the others in decimal. ``D100.3`` is bit 3 of a word device. A
bit device takes BIT/BOOL; a word device takes every type (a 32-bit value spans two devices,
a STRING of n bytes n/2 of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point


@dataclass(frozen=True, slots=True)
class Device:
    """A device kind: its MC binary code, whether it holds bits, and the base of its numbers."""

    name: str
    code: int
    bits: bool
    base: int = 10


DEVICES = {d.name: d for d in (
    Device("D", 0xA8, False), Device("W", 0xB4, False, 16), Device("R", 0xAF, False), Device("ZR", 0xB0, False),
    Device("SD", 0xA9, False), Device("SW", 0xB5, False, 16),
    Device("M", 0x90, True), Device("X", 0x9C, True, 16), Device("Y", 0x9D, True, 16), Device("B", 0xA0, True, 16),
    Device("L", 0x92, True), Device("F", 0x93, True), Device("SM", 0x91, True), Device("SB", 0xA1, True, 16),
)}
_FORM = re.compile(r"^(ZR|SD|SW|SM|SB|D|W|R|M|X|Y|B|L|F)([0-9A-Fa-f]+)(?:\.([0-9A-Fa-f]))?$")
_EXAMPLES = "expected e.g. D100, R2000, W1A, M20, X1A, Y1F, B3F or D100.3"
MAX_NUMBER = 0xFFFFFF  # three bytes in a Q/L frame
UNSUPPORTED = (DataType.BCD,)


@dataclass(frozen=True, slots=True)
class MelsecAddress:
    """A parsed address: the device, its number and, for a bit of a word device, the bit."""

    device: Device
    number: int
    bit: int | None = None

    @property
    def word(self) -> int:
        """Return the word the address starts in: its number, or for a bit device number // 16."""
        return self.number // 16 if self.device.bits else self.number


def parse_address(text: str) -> MelsecAddress:
    """Parse ``text`` or raise AddressError naming the accepted forms."""
    match = _FORM.match(text.strip().upper())
    if match is None:
        raise AddressError(f"'{text}' is not a MELSEC device ({_EXAMPLES})")
    device = DEVICES[match.group(1)]
    try:
        number = int(match.group(2), device.base)
    except ValueError:
        raise AddressError(f"'{text}': {device.name} counts in decimal ({_EXAMPLES})") from None
    if number > MAX_NUMBER:
        raise AddressError(f"'{text}': the device number is above {MAX_NUMBER}")
    bit = None
    if match.group(3) is not None:
        if device.bits:
            raise AddressError(f"'{text}': .n takes a bit of a word device; {device.name} already holds bits")
        bit = int(match.group(3), 16)
    return MelsecAddress(device, number, bit)


def word_count(point: Point, address: MelsecAddress) -> int:
    """Return how many words a point spans (a bit spans the one word it lives in)."""
    if address.device.bits or address.bit is not None or point.dtype.is_bit:
        return 1
    if point.dtype is DataType.STRING:
        return max(1, (point.length + 1) // 2)
    return max(1, point.dtype.size // 2)


def check_point(point: Point) -> MelsecAddress:
    """Parse the point's address and check its type fits the device; return the address."""
    if point.dtype in UNSUPPORTED:
        raise AddressError(f"{point.name}: BCD is not read by this driver (read the word as WORD)")
    address = parse_address(point.address)
    if address.device.bits and not point.dtype.is_bit:
        raise AddressError(f"{point.name}: {address.device.name} is a bit device, so its type is BIT or BOOL, "
                           f"not {point.dtype}")
    if address.bit is not None and not point.dtype.is_bit:
        raise AddressError(f"{point.name}: {point.address} is a bit, so its type is BIT or BOOL")
    if not address.device.bits and address.bit is None and point.dtype.is_bit:
        raise AddressError(f"{point.name}: {address.device.name} is a word device: name the bit, e.g. "
                           f"{point.address}.0")
    if point.dtype is DataType.STRING and point.length < 1:
        raise AddressError(f"{point.name}: a STRING needs its length in bytes")
    return address

"""Parse Device Supervisor Modbus addresses (pure).

``00001+`` coil, ``10001+`` discrete input, ``30001+`` input register, ``40001+`` holding
register; six digits (``400001``) reach offsets above 9999; ``40001.3`` is bit 3 of a register.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point

_EXAMPLES = "expected e.g. 40001, 400001, 40001.3, 00001, 10001, 30001"
_PATTERN = re.compile(r"^([0134])(\d{4,5})(?:\.(\d{1,2}))?$")


class Area(enum.IntEnum):
    """Modbus data areas, valued by their Device Supervisor prefix digit."""

    COIL = 0
    DISCRETE_INPUT = 1
    INPUT_REGISTER = 3
    HOLDING_REGISTER = 4

    @property
    def is_bits(self) -> bool:
        """Return True for the single-bit areas (coils, discrete inputs)."""
        return self in (Area.COIL, Area.DISCRETE_INPUT)

    @property
    def writable(self) -> bool:
        """Return True for the areas a master may write."""
        return self in (Area.COIL, Area.HOLDING_REGISTER)


@dataclass(frozen=True, slots=True)
class ModbusAddress:
    """A parsed address: area, 0-based protocol offset and optional bit in a register."""

    area: Area
    offset: int
    bit: int | None = None


def parse_address(text: str) -> ModbusAddress:
    """Parse ``text`` or raise AddressError with the accepted forms."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise AddressError(f"'{text}' is not a Modbus address ({_EXAMPLES})")
    area = Area(int(match.group(1)))
    number = int(match.group(2))
    bit = int(match.group(3)) if match.group(3) is not None else None
    limit = 9999 if len(match.group(2)) == 4 else 65536
    if not 1 <= number <= limit:
        raise AddressError(f"'{text}' is out of range (1 to {limit} after the area digit)")
    if bit is not None and (area.is_bits or bit > 15):
        raise AddressError(f"'{text}' has a bit number; only registers have bits 0-15")
    return ModbusAddress(area, number - 1, bit)


def register_count(point: Point) -> int:
    """Return how many registers (or bits, in bit areas) a point spans."""
    if point.dtype.is_bit:
        return 1
    if point.dtype is DataType.STRING:
        return max(1, (point.length + 1) // 2)
    return max(1, point.dtype.size // 2)


def check_point(point: Point) -> ModbusAddress:
    """Parse the point's address and check its type fits the area."""
    address = parse_address(point.address)
    if address.area.is_bits and not point.dtype.is_bit:
        raise AddressError(
            f"'{point.address}' is a {address.area.name.lower().replace('_', ' ')}: "
            f"only BIT or BOOL fits, not {point.dtype}"
        )
    if not address.area.is_bits and point.dtype.is_bit and address.bit is None:
        raise AddressError(
            f"'{point.address}' is a register: a {point.dtype} needs a bit, e.g. {point.address}.0"
        )
    if address.bit is not None and not point.dtype.is_bit:
        raise AddressError(f"'{point.address}' names a bit but the type is {point.dtype}")
    if point.dtype is DataType.STRING and point.length <= 0:
        raise AddressError("a STRING needs a length (in characters)")
    if address.offset + register_count(point) > 65536:
        raise AddressError(f"'{point.address}' with type {point.dtype} runs past the last register")
    return address

"""Parse Logix tag addresses (pure).

A tag is named as in Studio 5000: controller scope ``Line1_Speed``, program scope
``Program:Main.Counter``, UDT members ``Line1.Motor.Speed``, array elements ``Recipe[3]`` or
``Matrix[1,2]``, a bit of an integer ``Status.5``; ``{n}`` after an array element reads ``n``
elements from it as a list (``Recipe[0]{10}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INDEX = r"\[\d+(?:,\d+){0,2}\]"
_SEGMENT = rf"(?:{_NAME}(?:{_INDEX})?|\d+)"
_FORM = re.compile(rf"^(?P<tag>(?:Program:{_NAME}\.)?{_NAME}(?:{_INDEX})?(?:\.{_SEGMENT})*)(?:\{{(?P<count>\d+)\}})?$")
_EXAMPLES = "expected e.g. Line1_Speed, Program:Main.Counter, Line1.Motor.Speed, Recipe[3], Recipe[0]{10}"
MAX_ELEMENTS = 1000
UNSUPPORTED = (DataType.BCD,)  # a Logix tag is typed: BCD is a register encoding


@dataclass(frozen=True, slots=True)
class TagAddress:
    """A tag path as the controller takes it, and how many elements to read from it."""

    tag: str
    count: int = 1


def parse_address(text: str) -> TagAddress:
    """Parse ``text`` or raise AddressError naming the accepted forms."""
    match = _FORM.match(text.strip())
    if match is None:
        raise AddressError(f"'{text}' is not a Logix tag ({_EXAMPLES})")
    count = int(match.group("count") or 1)
    if match.group("count") is not None and not match.group("tag").endswith("]"):
        raise AddressError(f"'{text}': {{n}} reads n elements from an array element, e.g. Recipe[0]{{10}}")
    if not 1 <= count <= MAX_ELEMENTS:
        raise AddressError(f"'{text}': an element count is from 1 to {MAX_ELEMENTS}")
    return TagAddress(match.group("tag"), count)


def check_point(point: Point) -> TagAddress:
    """Parse the point's address and check its type fits Logix; return the address."""
    if point.dtype in UNSUPPORTED:
        raise AddressError(f"{point.name}: {point.dtype} is a register encoding; a Logix tag is typed (use its own "
                           "type, e.g. INT or DINT)")
    return parse_address(point.address)

"""Parse simulator addresses (pure): ``<waveform>[/<period seconds>]``, e.g. ``sine/30``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.core.errors import AddressError

WAVEFORMS = ("sine", "ramp", "square", "triangle")
_PATTERN = re.compile(r"^({})(?:/(\d+(?:\.\d+)?))?$".format("|".join(WAVEFORMS)))


@dataclass(frozen=True, slots=True)
class WaveAddress:
    """A waveform and its period."""

    kind: str
    period: float = 60.0


def parse_address(text: str) -> WaveAddress:
    """Parse ``text`` or raise AddressError naming the accepted forms."""
    match = _PATTERN.match(text.strip())
    if not match or (match.group(2) is not None and float(match.group(2)) <= 0):
        raise AddressError(
            f"'{text}' is not a simulator address (expected one of {', '.join(WAVEFORMS)}, "
            "optionally with /period, e.g. sine/30)"
        )
    return WaveAddress(match.group(1), float(match.group(2) or 60.0))

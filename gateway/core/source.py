"""What a device says about a value besides the value itself (its own time and quality).

It lives in the core because a driver produces it and the latest readings keep it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Quality(enum.StrEnum):
    """How good the device itself says a value is (OPC UA's status classes). A value the device
    calls bad is no value: the driver reports it as the point's error, never as a reading."""

    GOOD = "good"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True, slots=True)
class SourceStamp:
    """What the device said about a value besides the value: when its own clock measured it
    (epoch seconds, None when it gave no time) and how good it is, with the protocol's own name for
    that status (e.g. ``Uncertain_LastUsableValue``). Only protocols that say so (OPC UA) give one."""

    timestamp: float | None
    quality: Quality = Quality.GOOD
    status: str = ""

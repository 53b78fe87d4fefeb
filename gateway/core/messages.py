"""What a script call produces and needs, as plain data every layer can hold.

A message a script published travels from the script worker through the rules to the outbox and
the cloud connector; a write request goes from a script to the PLC writer. They are plain frozen
data, so the same values cross the worker's pipe and sit in the outbox unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.core.publish_limits import PublishLimits
from gateway.core.write_forms import ResultShape


@dataclass(frozen=True)
class OutgoingMessage:
    """A message a script published, to be committed to the outbox."""

    cloud: str
    topic: str
    payload: bytes
    qos: int


@dataclass(frozen=True)
class WriteRequest:
    """A ``write_plc_values`` call: values to write, and the callback to run with the results
    in ``shape`` (see :mod:`gateway.core.write_forms`), or with ``("error", -110, "timeout")``
    after ``timeout`` seconds."""

    values: dict[str, Any]
    callback_id: int | None = None
    tail: Any = None
    shape: ResultShape = "ds1"
    timeout: float = 60.0


@dataclass(frozen=True)
class CallContext:
    """What a script call needs to know about its rule (plain data)."""

    rule: str
    cloud: str
    topic: str
    qos: int
    global_parameters: Mapping[str, Any] = field(default_factory=dict)
    limits: PublishLimits = field(default_factory=PublishLimits)

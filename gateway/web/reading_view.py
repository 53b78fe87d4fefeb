"""How a reading's device-given time and quality appear in the API and on the WebSocket."""

from __future__ import annotations

from typing import Any

from gateway.core.latest import Reading


def source_fields(reading: Reading | None) -> dict[str, Any]:
    """Return the device's own timestamp (epoch seconds) and quality of a reading: ``null`` and
    ``"good"`` for protocols that do not say (a value is only ever read when the device sent it)."""
    source = reading.source if reading is not None else None
    if source is None:
        return {"source_timestamp": None, "quality": "good", "quality_status": ""}
    return {"source_timestamp": source.timestamp, "quality": source.quality.value, "quality_status": source.status}

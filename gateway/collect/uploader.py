"""One uploader per group: every ``upload_interval`` it builds ``data_collect``.

The snapshot has Device Supervisor's shape (DESIGN.md section 4). Upload modes decide which
measures go in: ``periodic`` always, ``onchange`` only when the value moved more than its
deadband since it was last uploaded, ``never`` not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.config import Group, Measure
from gateway.tasks import stop_if_cancelled

from .clock import REAL_CLOCK, Clock
from .latest import LatestValues, Reading

log = logging.getLogger("gateway.collect")

Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class GroupUploader:
    """Builds a group's snapshot on its interval and hands it to ``deliver``."""

    def __init__(
        self,
        group: Group,
        measures: Sequence[Measure],
        latest: LatestValues,
        deliver: Deliver,
        *,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        self.group = group
        self.measures = [m for m in measures if m.upload != "never"]
        self.latest = latest
        self._deliver = deliver
        self._clock = clock
        self._last_uploaded: dict[tuple[str, str], tuple[Any, int]] = {}

    async def run(self) -> None:
        """Upload until cancelled; a failing delivery is logged and the next cycle goes on."""
        interval = self.group.upload_interval
        next_at = self._clock.monotonic() + interval
        while True:
            stop_if_cancelled()
            await self._clock.sleep(max(0.0, next_at - self._clock.monotonic()))
            next_at = max(next_at + interval, self._clock.monotonic())
            snapshot = self.snapshot()
            if not snapshot["values"]:
                continue
            try:
                await self._deliver(snapshot)
            except Exception:  # one failed cycle must not stop the uploads
                log.exception("group %s: delivering the snapshot failed", self.group.name)

    def snapshot(self) -> dict[str, Any]:
        """Return ``data_collect`` for the measures due now, and remember what went out."""
        values: dict[str, dict[str, Any]] = {}
        for measure in self.measures:
            key = (measure.controller, measure.name)
            reading = self.latest.get(*key)
            if measure.upload == "onchange" and not self._changed(measure, reading):
                continue
            self._last_uploaded[key] = (reading.value, reading.status)
            values.setdefault(measure.controller, {})[measure.name] = {
                "raw_data": reading.value,
                "timestamp": int(reading.timestamp),
                "status": reading.status,
            }
        return {"timestamp": self._clock.now(), "group_name": self.group.name, "values": values}

    def _changed(self, measure: Measure, reading: Reading) -> bool:
        previous = self._last_uploaded.get((measure.controller, measure.name))
        if previous is None:
            return True
        value, status = previous
        if status != reading.status:
            return True
        numeric = (int, float)
        if (isinstance(value, numeric) and isinstance(reading.value, numeric)
                and not isinstance(value, bool) and not isinstance(reading.value, bool)):
            return abs(reading.value - value) > measure.deadband
        return bool(reading.value != value)

"""One uploader per group: every ``upload_interval`` it builds the group's snapshot.

The snapshot holds Device Supervisor's ``data_collect`` as columns over the group's roster (see
:mod:`gateway.core.group_snapshot`). Upload modes decide which measures go in: ``periodic`` always,
``onchange`` only when the value moved more than its deadband since it was last uploaded,
``never`` not at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.config import Group, Measure
from gateway.core.clock import REAL_CLOCK, Clock
from gateway.core.group_snapshot import GroupSnapshot, Roster
from gateway.core.latest import LatestValues, Reading
from gateway.core.tasks import stop_if_cancelled

log = logging.getLogger("gateway.collect")

Deliver = Callable[[GroupSnapshot], Awaitable[None]]


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
        uploaded = [m for m in measures if m.upload != "never"]
        by_controller: dict[str, list[Measure]] = {}
        for measure in uploaded:
            by_controller.setdefault(measure.controller, []).append(measure)
        self.measures = [m for own in by_controller.values() for m in own]  # in roster order
        self.roster = Roster(tuple((c, tuple(m.name for m in own)) for c, own in by_controller.items()))
        self.latest = latest
        # the reading objects themselves: LatestValues updates them in place, so no lookup per cycle
        self._readings = [latest.get(m.controller, m.name) for m in self.measures]
        self._onchange = [(position, m) for position, m in enumerate(self.measures) if m.upload == "onchange"]
        self._deliver = deliver
        self._clock = clock
        self._last_uploaded: dict[int, tuple[Any, int]] = {}

    async def run(self) -> None:
        """Upload until cancelled; a failing delivery is logged and the next cycle goes on."""
        interval = self.group.upload_interval
        next_at = self._clock.monotonic() + interval
        while True:
            stop_if_cancelled()
            await self._clock.sleep(max(0.0, next_at - self._clock.monotonic()))
            next_at = max(next_at + interval, self._clock.monotonic())
            snapshot = self.snapshot()
            if snapshot.empty:
                continue
            try:
                await self._deliver(snapshot)
            except Exception:  # one failed cycle must not stop the uploads
                log.exception("group %s: delivering the snapshot failed", self.group.name)

    async def upload_now(self) -> None:
        """Upload the group now, outside its interval (a script recalled the group)."""
        snapshot = self.snapshot()
        if not snapshot.empty:
            await self._deliver(snapshot)

    def snapshot(self) -> GroupSnapshot:
        """Return the snapshot of the measures due now, and remember what went out."""
        readings = self._readings
        values = [r.value for r in readings]
        status = [r.status for r in readings]
        included = None
        if self._onchange:
            unchanged = {position for position, measure in self._onchange
                         if not self._changed(position, measure, readings[position])}
            included = [p for p in range(len(readings)) if p not in unchanged] if unchanged else None
            for position, _measure in self._onchange:
                if position not in unchanged:
                    self._last_uploaded[position] = (values[position], status[position])
        return GroupSnapshot(self.group.name, self._clock.now(), self.roster, values,
                             [int(r.timestamp * 1000) for r in readings], status, included)

    def _changed(self, position: int, measure: Measure, reading: Reading) -> bool:
        previous = self._last_uploaded.get(position)
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


def data_collect_now(group: Group, measures: Sequence[Measure], latest: LatestValues) -> dict[str, Any]:
    """Return the ``data_collect`` the group would upload now, for a try-out: nothing is delivered."""
    return GroupUploader(group, measures, latest, _nowhere).snapshot().data_collect()


def recalled_values(measures: Sequence[Measure], latest: LatestValues) -> dict[str, Any]:
    """Return what ``recall_data`` answers: the latest value of every measure, shaped like data_collect."""
    values: dict[str, dict[str, Any]] = {}
    for measure in measures:
        reading = latest.get(measure.controller, measure.name)
        values.setdefault(measure.controller, {})[measure.name] = {
            "raw_data": reading.value, "timestamp": int(reading.timestamp), "status": reading.status}
    return {"timestamp": time.time(), "values": values}


async def _nowhere(_snapshot: GroupSnapshot) -> None:
    return None

"""Record the history of groups with ``history: true`` on their upload interval, and prune it.

Each recorder writes the group's good readings (status 1) whose timestamp moved since the last
record, so a value read once is stored once even when uploads are more frequent than reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gateway.config import Group, Measure
from gateway.core.clock import REAL_CLOCK, Clock
from gateway.core.errors import StoreError
from gateway.core.latest import LatestValues
from gateway.core.tasks import stop_if_cancelled
from gateway.store.history import HistoryStore, Sample

log = logging.getLogger("gateway.history")

PRUNE_EVERY = 600.0


class HistoryRecorder:
    """Writes one group's readings to the history store every ``upload_interval``."""

    def __init__(self, group: Group, measures: Sequence[Measure], latest: LatestValues, store: HistoryStore,
                 *, clock: Clock = REAL_CLOCK) -> None:
        self.group = group
        self.measures = list(measures)
        self._latest, self._store, self._clock = latest, store, clock
        self._recorded: dict[tuple[str, str], float] = {}

    async def run(self) -> None:
        """Record and prune until cancelled; a failed write is logged and the next cycle goes on."""
        interval = self.group.upload_interval
        next_prune = self._clock.monotonic() + PRUNE_EVERY
        while True:
            stop_if_cancelled()
            await self._clock.sleep(interval)
            try:
                await self.record_once()
                if self._clock.monotonic() >= next_prune:
                    next_prune = self._clock.monotonic() + PRUNE_EVERY
                    await self._store.prune(self.group.name, self.group.history_days * 86400,
                                            self.group.history_max_points)
            except StoreError as exc:
                log.error("group %s: history not written: %s", self.group.name, exc)

    async def record_once(self) -> int:
        """Store the readings that are new since the last call; return how many were stored."""
        fresh: list[Sample] = []
        for measure in self.measures:
            key = (measure.controller, measure.name)
            reading = self._latest.get(*key)
            if reading.status != 1 or reading.timestamp <= self._recorded.get(key, 0.0):
                continue
            self._recorded[key] = reading.timestamp
            source = reading.source.timestamp if reading.source is not None else None
            fresh.append((measure.controller, measure.name, reading.value, reading.timestamp, source))
        return await self._store.record(self.group.name, fresh) if fresh else 0

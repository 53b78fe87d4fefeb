"""One poller per controller: owns its schedule, connection recovery and health.

Runs never overlap: the next run is scheduled after the current one ends (missed slots are
skipped, not queued). Start times are staggered by the caller. After a failure the poller waits
a capped full-jitter backoff (never less than the sample period) and reconnects. Writes share the
connection and wait for the running read to finish, so a write never interleaves with a
half-read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.config import Controller, Measure, measure_point
from gateway.config.schema import ValueMap
from gateway.core.backoff import Backoff
from gateway.core.clock import REAL_CLOCK, Clock
from gateway.core.errors import DriverError
from gateway.core.latest import LatestValues
from gateway.core.tasks import stop_if_cancelled
from gateway.southbound import AnyDriver, ReadPlan
from gateway.southbound.values import accepted_input, checked_value

from .transforms import engineering, to_raw

log = logging.getLogger("gateway.collect")

DEGRADE_AFTER = 3  # consecutive failed cycles before a controller counts as degraded


@dataclass
class ControllerHealth:
    """What the rest of the gateway knows about a controller's reads."""

    healthy: bool | None = None  # None until the first cycle ends
    last_success: float = 0.0
    last_error: str = ""
    consecutive_failures: int = 0
    cycles: int = 0
    degraded: bool = False  # failing for a while: polled with growing pauses until it answers
    failures_total: int = 0  # failed cycles since start (for /metrics)
    read_seconds_total: float = 0.0  # time spent in read cycles since start (for /metrics)


class ControllerPoller:
    """Polls one controller every ``sample_period`` and records readings in ``latest``."""

    def __init__(
        self,
        controller: Controller,
        measures: Sequence[Measure],
        driver: AnyDriver,
        latest: LatestValues,
        *,
        clock: Clock = REAL_CLOCK,
        backoff: Backoff | None = None,
    ) -> None:
        self.controller = controller
        self.measures = {m.name: m for m in measures}
        self.driver = driver
        self.latest = latest
        self.health = ControllerHealth()
        self.plan: ReadPlan = driver.plan(
            [measure_point(m, controller) for m in measures], driver.args
        )
        self._readings = latest.readings_of(controller.name, self.measures)
        # the conversions to engineering units, of the measures that need one (most do not)
        self._conversions = {m.name: convert for m in measures if (convert := engineering(m)) is not None}
        self._clock = clock
        self._backoff = backoff or Backoff(base=controller.sample_period, cap=60.0)
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        """Return the controller's name."""
        return self.controller.name

    async def run(self, start_delay: float = 0.0) -> None:
        """Poll until cancelled."""
        log.info("%s: polling %s every %.3g s (%s)", self.name, self.controller.endpoint,
                 self.controller.sample_period, self.driver.describe_plan(self.plan))
        await self._clock.sleep(start_delay)
        period = self.controller.sample_period
        next_start = self._clock.monotonic()
        try:
            while True:
                stop_if_cancelled()
                async with self._lock:
                    ok = await self.poll_once()
                if ok:
                    next_start = max(next_start + period, self._clock.monotonic())
                    delay = next_start - self._clock.monotonic()
                else:
                    delay = max(period, self._backoff.next_delay())
                    next_start = self._clock.monotonic() + delay
                await self._clock.sleep(delay)
        finally:
            await self.driver.close()

    async def poll_once(self) -> bool:
        """Run one read cycle; return False when the controller could not be read."""
        now = self._clock.now()
        self.health.cycles += 1
        started = time.perf_counter()
        try:
            return await self._poll(now)
        finally:
            self.health.read_seconds_total += time.perf_counter() - started

    async def _poll(self, now: float) -> bool:
        try:
            if not self.driver.connected:
                await self.driver.connect()
                self.plan.reset()  # the PLC may have a new program: probe rejected addresses again
            result = await self.driver.read(self.plan)
        except DriverError as exc:
            self._record_failure(str(exc), now)
            if exc.retryable:  # the link failed; a device that answered with a refusal keeps its connection
                await self.driver.close()
            return False
        except Exception as exc:  # a driver bug: report it like a failed read, with the traceback
            log.exception("%s: unexpected error while reading", self.name)
            self._record_failure(f"internal error: {exc!r}", now)
            await self.driver.close()
            return False
        values = result.values
        if not values and result.errors:  # it answers, but with not one value: that is no healthy PLC
            self._record_failure(f"every read failed: {next(iter(result.errors.values()))}", now, mark_measures=False)
            for name, error in result.errors.items():
                self.latest.set_failed(self.name, name, error, now)
            return False
        for name, convert in self._conversions.items():
            if name in values:
                values[name] = convert(values[name])
        self.latest.record_good(values, self._readings, now, result.sources)
        for name, error in result.errors.items():
            self.latest.set_failed(self.name, name, error, now)
        if result.newly_rejected:
            log.warning("%s: the PLC rejects %d address(es), now left out of every read: %s", self.name,
                        len(result.newly_rejected), "; ".join(f"{n}: {e}" for n, e in result.newly_rejected.items()))
        self._record_success(now)
        return True

    async def write(self, measure_name: str, value: Any) -> None:
        """Write an engineering value to a measure between polls.

        Raise ValueError when the value cannot be written (type, range, transform) and
        DriverError when the PLC refused it or could not be reached.
        """
        measure = self.measures[measure_name]
        point = measure_point(measure, self.controller)
        if isinstance(measure.transform, ValueMap):  # a name ("on") stands for its raw value, which is checked
            accepted = to_raw(measure, value)
            raw = accepted_input(point, accepted)
        else:
            accepted = accepted_input(point, value)
            raw = to_raw(measure, accepted)
        if isinstance(accepted, list) and measure.transform is not None:
            raise ValueError(f"{measure_name} has a transform, which applies to single values, not to an array")
        if measure.transform is not None and isinstance(raw, float) and point.dtype.struct_code not in ("f", "d"):
            raw = round(raw)  # an integer register behind a scaling transform takes the nearest step
        raw = checked_value(point, raw)
        async with self._lock:
            if not self.driver.connected:
                await self.driver.connect()
            await self.driver.write(point, raw)
        log.info("%s: wrote %s = %r", self.name, measure_name, value)

    def _record_success(self, now: float) -> None:
        if self.health.healthy is False:
            resumed = f"; back to polling every {self.controller.sample_period:g} s" if self.health.degraded else ""
            log.info("%s: reads recovered after %d failed cycle(s)%s", self.name, self.health.consecutive_failures,
                     resumed)
        self.health.healthy = True
        self.health.degraded = False
        self.health.last_success = now
        self.health.consecutive_failures = 0
        self._backoff.reset()

    def _record_failure(self, error: str, now: float, mark_measures: bool = True) -> None:
        if self.health.healthy is not False:
            log.error("%s: read failed: %s (values keep their last reading with status 0)",
                      self.name, error)
        else:
            log.debug("%s: still failing: %s", self.name, error)
        self.health.healthy = False
        self.health.failures_total += 1
        self.health.last_error = error
        self.health.consecutive_failures += 1
        if self.health.consecutive_failures == DEGRADE_AFTER:
            self.health.degraded = True
            log.warning("%s: %d failed cycles in a row; backing off, up to %g s between attempts, until it answers",
                        self.name, DEGRADE_AFTER, self._backoff.cap)
        if mark_measures:
            for name in self.measures:
                self.latest.set_failed(self.name, name, error, now)

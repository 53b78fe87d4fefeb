"""The latest reading of every measure: what uploads, scripts and the UI see."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .source import SourceStamp


@dataclass(slots=True)
class Reading:
    """The last known state of one measure.

    ``status`` is 1 while reads succeed and 0 after a failed read; ``value`` then stays the
    last good value (None if there never was one), as Device Supervisor reports it. ``timestamp``
    is the gateway's time of the read; ``source`` what the device said of the value's own time and
    quality, for protocols that say it (None for the others, and until they do).
    """

    value: Any = None
    timestamp: float = 0.0
    status: int = 0
    error: str = ""
    version: int = 0  # the LatestValues.version of its last change
    source: SourceStamp | None = None


class LatestValues:
    """Readings by controller and measure; written only by the pollers.

    A measure's Reading is updated in place and never replaced, so a component that reads the
    same measures every cycle may keep the Reading objects instead of looking them up.
    """

    def __init__(self) -> None:
        self._readings: dict[str, dict[str, Reading]] = {}  # per controller, per measure
        self.version = 0  # grows with every change, so a viewer asks for what changed since it last looked
        self._watchers: list[Callable[[list[Reading]], None]] = []

    def watch(self, callback: Callable[[list[Reading]], None]) -> Callable[[], None]:
        """Call ``callback`` with the Readings that changed, as each poll records them (a data
        service pushes them on instead of asking what changed); return how to stop. The callback
        runs inside the poller's recording: it must only take note, never wait."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback)

    def _tell(self, changed: list[Reading]) -> None:
        for callback in self._watchers:
            callback(changed)

    def get(self, controller: str, measure: str) -> Reading:
        """Return the reading of one measure (an empty one if never read)."""
        readings = self._readings.setdefault(controller, {})
        reading = readings.get(measure)
        if reading is None:
            reading = readings[measure] = Reading()
        return reading

    def readings_of(self, controller: str, measures: Iterable[str]) -> Mapping[str, Reading]:
        """Return the controller's readings by measure, with one for each of ``measures`` (empty
        if never read): the mapping itself, which :meth:`record_good` may be given each cycle,
        rather than a copy of some 40 bytes per measure."""
        readings = self._readings.setdefault(controller, {})
        for measure in measures:
            if measure not in readings:
                readings[measure] = Reading()
        return readings

    def set_good(self, controller: str, measure: str, value: Any, timestamp: float) -> None:
        """Record a successful read."""
        reading = self.get(controller, measure)
        changed = reading.value != value or reading.status != 1
        reading.value, reading.timestamp, reading.status, reading.error = value, timestamp, 1, ""
        if changed:
            self.version += 1
            reading.version = self.version
            if self._watchers:
                self._tell([reading])

    def record_good(self, values: Mapping[str, Any], readings: Mapping[str, Reading], timestamp: float,
                    sources: Mapping[str, SourceStamp] | None = None) -> None:
        """Record a cycle's successful reads at once: ``values`` by measure name, into the Readings
        (as :meth:`get` returned them) by the same names. The same as :meth:`set_good` for each,
        and the device's own time and quality from ``sources`` where it gave them."""
        version = self.version
        changed: list[Reading] | None = [] if self._watchers else None
        for name, value in values.items():
            reading = readings[name]
            if reading.status != 1 or reading.value != value:
                version += 1
                reading.version = version
                if changed is not None:
                    changed.append(reading)
            reading.value, reading.timestamp, reading.status, reading.error = value, timestamp, 1, ""
        self.version = version
        if sources:
            for name, source in sources.items():
                if name in values:
                    reading = readings[name]
                    if reading.source is None or reading.source.quality != source.quality:
                        self.version += 1  # a value turning uncertain (or good again) is news to a viewer
                        reading.version = self.version
                        if changed is not None:
                            changed.append(reading)
                    reading.source = source
        if changed:
            self._tell(changed)

    def set_failed(self, controller: str, measure: str, error: str, timestamp: float) -> None:
        """Record a failed read, keeping the last good value."""
        reading = self.get(controller, measure)
        changed = reading.status != 0 or reading.error != error
        reading.status, reading.error, reading.timestamp = 0, error, timestamp
        if changed:
            self.version += 1
            reading.version = self.version
            if self._watchers:
                self._tell([reading])

    def changed_since(self, version: int) -> list[tuple[str, str, Reading]]:
        """Return the readings whose value or status changed after ``version``."""
        return [(controller, measure, reading) for controller, readings in self._readings.items()
                for measure, reading in readings.items() if reading.version > version]

"""A group's snapshot as columns: what a publish script gets as ``data_collect``, kept compact.

A group uploads the same measures in the same order every cycle (its *roster*), so a snapshot is
three columns over the roster (values, read times in milliseconds, statuses) and, for groups with
``onchange`` measures, the positions uploaded this cycle. The columns cross to the script worker
as plain JSON lists, which encode and decode some twenty times faster than the nested dicts of
``data_collect``; the roster crosses once per worker. Either side turns the columns into
Device Supervisor's ``data_collect`` (docs/design.md section 4) with :meth:`GroupSnapshot.data_collect`.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Roster:
    """The measures a group uploads, in order: ``(controller, measure names)`` per controller."""

    controllers: tuple[tuple[str, tuple[str, ...]], ...]

    @cached_property
    def key(self) -> str:
        """Return a name for this roster that changes whenever its measures do."""
        return hashlib.blake2b(repr(self.controllers).encode(), digest_size=12).hexdigest()

    @cached_property
    def size(self) -> int:
        """Return how many measures the roster holds."""
        return sum(len(names) for _controller, names in self.controllers)

    def to_json(self) -> list[list[Any]]:
        return [[controller, list(names)] for controller, names in self.controllers]

    @classmethod
    def from_json(cls, data: list[list[Any]]) -> Roster:
        return cls(tuple((str(controller), tuple(str(n) for n in names)) for controller, names in data))


@dataclass
class GroupSnapshot:
    """One cycle of a group: the roster's values, read times (milliseconds) and statuses."""

    group_name: str
    timestamp: float
    roster: Roster
    values: list[Any]
    stamps: list[int]
    status: list[int]
    included: list[int] | None = None  # the roster positions uploaded this cycle; None: all

    @property
    def empty(self) -> bool:
        """Return True when nothing is uploaded this cycle (the script is not called)."""
        return not self.roster.controllers or self.included == []

    def data_collect(self) -> dict[str, Any]:
        """Return ``data_collect`` in Device Supervisor's shape."""
        values: dict[str, dict[str, Any]] = {}
        start = 0
        chosen = None if self.included is None else set(self.included)
        for controller, names in self.roster.controllers:
            end = start + len(names)
            columns = zip(range(start, end), names, self.values[start:end], self.stamps[start:end],
                          self.status[start:end], strict=True)
            measures = {name: {"raw_data": value, "timestamp": stamp // 1000, "status": status,
                               "timestampMsec": stamp}
                        for position, name, value, stamp, status in columns
                        if chosen is None or position in chosen}
            if measures:
                values[controller] = measures
            start = end
        return {"timestamp": self.timestamp, "timestampMsec": int(self.timestamp * 1000),
                "group_name": self.group_name, "values": values}

    def columns_json(self) -> dict[str, Any]:
        """Return the snapshot without its roster, as it crosses to the script worker; read times
        and statuses as runs of equal values (a controller's cycle reads all at one time)."""
        return {"group_name": self.group_name, "timestamp": self.timestamp, "roster": self.roster.key,
                "values": self.values, "stamps": _runs(self.stamps), "status": _runs(self.status),
                "included": self.included}

    @classmethod
    def from_columns_json(cls, data: dict[str, Any], roster: Roster) -> GroupSnapshot:
        """Rebuild a snapshot from :meth:`columns_json` and the roster it names."""
        size = roster.size
        values, stamps, status = list(data["values"]), _expand(data["stamps"]), _expand(data["status"])
        if not len(values) == len(stamps) == len(status) == size:
            raise ValueError(f"columns of {len(values)}, {len(stamps)}, {len(status)} for a roster of {size}")
        included = data.get("included")
        return cls(str(data["group_name"]), float(data["timestamp"]), roster, values, stamps, status,
                   None if included is None else [int(i) for i in included])


def _runs(column: list[Any]) -> list[list[Any]]:
    """Return ``column`` as ``[value, count]`` runs."""
    return [[value, len(list(run))] for value, run in itertools.groupby(column)]


def _expand(runs: list[list[Any]]) -> list[Any]:
    """Return the column that :func:`_runs` made ``runs`` of."""
    return list(itertools.chain.from_iterable(itertools.repeat(value, int(count)) for value, count in runs))

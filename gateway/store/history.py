"""Local history of measures (groups with ``history: true``), with downsampled queries and statistics.

Raw samples live in ``samples`` (one row per measure and millisecond of our reading, clustered by measure and time,
``WITHOUT ROWID``); every insert also folds the value into a per-minute rollup (count, sum, min,
max). A query picks its bucket from the window so a chart gets about ``points`` buckets: buckets
under a minute aggregate raw samples, longer ones aggregate the rollup, so a week of 1-second data
is read as 10,080 minute rows instead of 604,800 samples. Only good readings (status 1) with a
numeric value are kept; booleans are stored as 0/1. A sample whose device said when it measured
the value (OPC UA's source timestamp) keeps that time too, in ``source_ts``; the charts and
statistics go by the gateway's time, which every sample has.

Each group caps its history by age (``history_days``) and by points per measure
(``history_max_points``); the oldest samples go first.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.core.errors import StoreError

from .sqlite import open_database, undo

log = logging.getLogger("gateway.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, controller TEXT NOT NULL, measure TEXT NOT NULL, grp TEXT NOT NULL,
    UNIQUE (controller, measure)
);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, source_ts INTEGER,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minutes (
    series INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL, total REAL NOT NULL,
    low REAL NOT NULL, high REAL NOT NULL, PRIMARY KEY (series, minute)
) WITHOUT ROWID;
"""
_FOLD = """
INSERT INTO minutes (series, minute, n, total, low, high) VALUES (?, ?, 1, ?, ?, ?)
ON CONFLICT (series, minute) DO UPDATE SET n = n + 1, total = total + excluded.total,
    low = min(low, excluded.low), high = max(high, excluded.high)
"""
MS = 1000
MINUTE_MS = 60 * MS
STAT_WINDOWS = {"5min": 300, "hour": 3600, "day": 86400}
MAX_EXPORT_ROWS = 1_000_000


@dataclass(frozen=True)
class Bucket:
    """One point of a downsampled series: the bucket's start (epoch seconds) and its statistics."""

    t: float
    low: float
    high: float
    avg: float
    count: int


Sample = tuple[str, str, Any, float] | tuple[str, str, Any, float, float | None]
"""A reading to record: controller, measure, value, our timestamp and, if the device gave one, its own."""


async def _add_source_time(db: aiosqlite.Connection) -> None:
    """Give a history written before source timestamps existed their column (empty for old rows)."""
    async with db.execute("PRAGMA table_info(samples)") as cursor:
        columns = {row[1] async for row in cursor}
    if "source_ts" not in columns:
        await db.execute("ALTER TABLE samples ADD COLUMN source_ts INTEGER")
        await db.commit()


def numeric(value: Any) -> float | None:
    """Return ``value`` as a finite float (booleans as 0/1), or None when it has no number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


class HistoryStore:
    """The history database of one gateway."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._series: dict[tuple[str, str], int] = {}
        self._groups: dict[int, str] = {}  # series -> the group that records it (its caps apply)

    @classmethod
    async def open(cls, path: Path) -> HistoryStore:
        """Open (or create) the history database at ``path``."""
        db = await open_database(path, "the history", ["journal_mode=WAL", "synchronous=NORMAL"], _SCHEMA)
        store = cls(db)
        try:
            await _add_source_time(db)
            async with db.execute("SELECT controller, measure, id, grp FROM series") as cursor:
                async for controller, measure, series, group in cursor:
                    store._series[(controller, measure)] = series
                    store._groups[series] = group
        except sqlite3.Error as exc:
            await db.close()
            raise StoreError(f"cannot open the history at {path}: {exc}") from exc
        return store

    async def close(self) -> None:
        """Close the database."""
        await self._db.close()

    async def record(self, group: str, readings: Iterable[Sample]) -> int:
        """Store ``(controller, measure, value, timestamp[, source timestamp])`` readings of
        ``group`` in one transaction; return how many were numeric and stored."""
        try:
            rows = []
            for controller, measure, value, timestamp, *source in readings:
                number = numeric(value)
                if number is None:
                    continue
                series = await self._series_id(controller, measure, group)
                source_ms = int(source[0] * MS) if source and source[0] is not None else None
                rows.append((series, int(timestamp * MS), number, source_ms))
            if not rows:
                return 0
            await self._db.executemany("INSERT OR REPLACE INTO samples (series, ts, value, source_ts) "
                                       "VALUES (?, ?, ?, ?)", rows)
            await self._db.executemany(_FOLD, [(s, ts // MINUTE_MS, v, v, v) for s, ts, v, _ in rows])
            await self._db.commit()
        except (sqlite3.Error, OSError) as exc:
            await undo(self._db)
            self._forget_uncommitted_series()
            raise StoreError(f"cannot write history: {exc}") from exc
        return len(rows)

    async def query(self, controller: str, measure: str, start: float, end: float,
                    points: int = 1000) -> tuple[float, list[Bucket]]:
        """Return the bucket width (s) and the buckets of one measure between ``start`` and ``end``."""
        series = self._series.get((controller, measure))
        width = max(1.0, (end - start) / max(1, points))
        if series is None or end <= start:
            return width, []
        if width >= 60:
            width = math.ceil(width / 60) * 60.0
            step = int(width * MS) // MINUTE_MS
            sql = ("SELECT minute / ? * ?, min(low), max(high), sum(total) / sum(n), sum(n) FROM minutes "
                   "WHERE series = ? AND minute >= ? AND minute < ? GROUP BY minute / ? ORDER BY 1")
            args: tuple[Any, ...] = (step, step * 60, series, int(start * MS) // MINUTE_MS,
                                     math.ceil(end * MS / MINUTE_MS), step)
        else:
            step = int(width * MS)
            sql = ("SELECT ts / ? * ? / 1000.0, min(value), max(value), avg(value), count(*) FROM samples "
                   "WHERE series = ? AND ts >= ? AND ts < ? GROUP BY ts / ? ORDER BY 1")
            args = (step, step, series, int(start * MS), int(end * MS), step)
        async with self._db.execute(sql, args) as cursor:
            return width, [Bucket(float(t), low, high, avg, n) async for t, low, high, avg, n in cursor]

    async def raw(self, controller: str, measure: str, start: float, end: float,
                  limit: int = MAX_EXPORT_ROWS) -> list[tuple[float, float, float | None]]:
        """Return the stored ``(timestamp, value, source timestamp or None)`` samples of one
        measure in a window, oldest first."""
        series = self._series.get((controller, measure))
        if series is None:
            return []
        async with self._db.execute("SELECT ts, value, source_ts FROM samples WHERE series = ? AND ts >= ? "
                                    "AND ts < ? ORDER BY ts LIMIT ?",
                                    (series, int(start * MS), int(end * MS), limit)) as cursor:
            return [(ts / MS, value, None if source is None else source / MS) async for ts, value, source in cursor]

    async def group_samples(self, group: str, start: float | None, end: float | None, limit: int,
                            newest_first: bool = False) -> list[tuple[int, str, str, float]]:
        """Return up to ``limit`` samples of ``group`` with ``start`` <= time < ``end`` (either may
        be None) as ``(second, controller, measure, value)``, oldest (or newest) first."""
        names = {series: key for key, series in self._series.items() if self._groups.get(series) == group}
        if not names:
            return []
        marks = ",".join("?" * len(names))
        low = int(start * MS) if start is not None else -(2**62)
        high = int(end * MS) if end is not None else 2**62
        async with self._db.execute(f"SELECT series, ts, value FROM samples WHERE series IN ({marks}) AND ts >= ? "
                                    f"AND ts < ? ORDER BY ts {'DESC' if newest_first else 'ASC'} LIMIT ?",
                                    (*names, low, high, limit)) as cursor:
            return [(ts // MS, *names[series], value) async for series, ts, value in cursor]

    async def statistics(self, controller: str, measure: str, now: float | None = None) -> dict[str, Any]:
        """Return avg/min/max/count of one measure over the last 5 minutes, hour and day.

        The hour and the day come from the minute rollup, so their first minute may be partial.
        """
        now = time.time() if now is None else now
        series = self._series.get((controller, measure))
        result: dict[str, Any] = {}
        for name, seconds in STAT_WINDOWS.items():
            if series is None:
                result[name] = {"avg": None, "min": None, "max": None, "count": 0}
                continue
            if seconds < 3600:
                sql = ("SELECT avg(value), min(value), max(value), count(*) FROM samples "
                       "WHERE series = ? AND ts >= ? AND ts <= ?")
                args: tuple[Any, ...] = (series, int((now - seconds) * MS), int(now * MS))
            else:
                sql = ("SELECT sum(total) / sum(n), min(low), max(high), coalesce(sum(n), 0) FROM minutes "
                       "WHERE series = ? AND minute >= ? AND minute <= ?")
                args = (series, int((now - seconds) * MS) // MINUTE_MS, int(now * MS) // MINUTE_MS)
            async with self._db.execute(sql, args) as cursor:
                row = await cursor.fetchone()
            avg, low, high, count = row if row else (None, None, None, 0)
            result[name] = {"avg": avg, "min": low, "max": high, "count": count}
        return result

    async def prune(self, group: str, max_age_seconds: float, max_points: int, now: float | None = None) -> int:
        """Delete the group's samples older than ``max_age_seconds`` or beyond ``max_points`` per
        measure (oldest first); return how many samples went."""
        now = time.time() if now is None else now
        cutoff = int((now - max_age_seconds) * MS)
        deleted = 0
        for series in [s for s, g in self._groups.items() if g == group]:
            async with self._db.execute("SELECT ts FROM samples WHERE series = ? ORDER BY ts DESC LIMIT 1 OFFSET ?",
                                        (series, max_points)) as cursor:
                row = await cursor.fetchone()
            limit = max(cutoff, int(row[0]) + 1) if row else cutoff
            cursor = await self._db.execute("DELETE FROM samples WHERE series = ? AND ts < ?", (series, limit))
            deleted += max(0, cursor.rowcount)
            await self._db.execute("DELETE FROM minutes WHERE series = ? AND minute < ?", (series, limit // MINUTE_MS))
        await self._db.commit()
        if deleted:
            log.info("history of group %s: %d old sample(s) deleted", group, deleted)
        return deleted

    async def measures(self) -> list[dict[str, Any]]:
        """Return the measures that have history, each with the time of its first sample (None if
        it has none yet): a chart opens on the window that holds the data."""
        sql = ("SELECT controller, measure, grp, (SELECT min(ts) FROM samples WHERE series = series.id) "
               "FROM series ORDER BY controller, measure")
        async with self._db.execute(sql) as cursor:
            return [{"controller": c, "measure": m, "group": g, "first": first / MS if first is not None else None}
                    async for c, m, g, first in cursor]

    def _forget_uncommitted_series(self) -> None:
        """After a rollback the series rows inserted since the last commit are gone: look them up
        again next time rather than writing samples under ids that do not exist."""
        self._series.clear()
        self._groups.clear()

    async def _series_id(self, controller: str, measure: str, group: str) -> int:
        key = (controller, measure)
        if key not in self._series:
            await self._db.execute("INSERT OR IGNORE INTO series (controller, measure, grp) VALUES (?, ?, ?)",
                                   (controller, measure, group))
            async with self._db.execute("SELECT id FROM series WHERE controller = ? AND measure = ?", key) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            self._series[key] = int(row[0])
        series = self._series[key]
        if self._groups.get(series) != group:  # new, or the measure moved to another group
            await self._db.execute("UPDATE series SET grp = ? WHERE id = ?", (group, series))
            self._groups[series] = group
        return series


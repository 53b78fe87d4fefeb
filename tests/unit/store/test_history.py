"""The history store: what is kept, how a window is downsampled, statistics, and the caps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.store.history import HistoryStore

T0 = 1_699_999_200.0  # on an hour boundary: buckets align to multiples of their width


async def _store(tmp_path: Path) -> HistoryStore:
    return await HistoryStore.open(tmp_path / "history.db")


async def test_only_numbers_are_kept_and_booleans_count_as_0_and_1(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        stored = await store.record("g", [("P", "A", 1.5, T0), ("P", "B", True, T0), ("P", "C", "text", T0),
                                          ("P", "D", None, T0), ("P", "E", float("nan"), T0)])
        assert stored == 2
        assert await store.raw("P", "A", T0, T0 + 1) == [(T0, 1.5, None)]
        assert await store.raw("P", "B", T0, T0 + 1) == [(T0, 1.0, None)]
        assert [m["measure"] for m in await store.measures()] == ["A", "B"]
    finally:
        await store.close()


async def test_short_windows_aggregate_samples_and_long_ones_the_minute_rollup(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        for second in range(0, 7200):  # two hours of 1 s data: value = second
            if second % 600 == 0:
                batch = []
            batch.append(("P", "Ramp", float(second), T0 + second))
            if len(batch) == 600:
                await store.record("g", batch)
        width, buckets = await store.query("P", "Ramp", T0, T0 + 100, points=10)
        assert width == 10 and len(buckets) == 10
        assert (buckets[0].t, buckets[0].low, buckets[0].high, buckets[0].avg, buckets[0].count) == (T0, 0, 9, 4.5, 10)
        width, buckets = await store.query("P", "Ramp", T0, T0 + 7200, points=12)
        assert width == 600 and len(buckets) == 12
        assert (buckets[1].t, buckets[1].low, buckets[1].high, buckets[1].count) == (T0 + 600, 600, 1199, 600)
        assert buckets[1].avg == pytest.approx(899.5)
        width, buckets = await store.query("P", "Ramp", T0, T0 + 7200, points=7)  # rounded up to whole minutes
        assert width == 1080 and sum(b.count for b in buckets) == 7200
    finally:
        await store.close()


async def test_statistics_over_5_minutes_an_hour_and_a_day(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.record("g", [("P", "T", float(i % 10), T0 - 3000 + i * 10) for i in range(300)])
        stats = await store.statistics("P", "T", now=T0)
        assert stats["5min"]["count"] == 30 and stats["5min"]["min"] == 0 and stats["5min"]["max"] == 9
        assert stats["hour"]["count"] == 300 and stats["hour"]["avg"] == pytest.approx(4.5)
        assert stats["day"]["count"] == 300
        assert (await store.statistics("P", "unknown", now=T0))["hour"] == {"avg": None, "min": None, "max": None,
                                                                              "count": 0}
    finally:
        await store.close()


async def test_prune_by_age_and_by_points_per_measure_keeps_the_newest(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.record("g", [("P", "A", float(i), T0 + i) for i in range(1000)])
        await store.record("other", [("P", "B", float(i), T0 + i) for i in range(1000)])
        deleted = await store.prune("g", max_age_seconds=500.5, max_points=10_000, now=T0 + 1000)
        kept = await store.raw("P", "A", 0, T0 + 2000)
        assert deleted == 500 and kept[0] == (T0 + 500, 500.0, None) and len(kept) == 500
        deleted = await store.prune("g", max_age_seconds=10_000, max_points=100, now=T0 + 1000)
        kept = await store.raw("P", "A", 0, T0 + 2000)
        assert deleted == 400 and len(kept) == 100 and kept[0] == (T0 + 900, 900.0, None)
        assert len(await store.raw("P", "B", 0, T0 + 2000)) == 1000  # another group's history is untouched
    finally:
        await store.close()


async def test_history_survives_reopening(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await store.record("g", [("P", "A", 2.0, T0)])
    await store.close()
    store = await _store(tmp_path)
    try:
        await store.record("g", [("P", "A", 3.0, T0 + 1)])
        assert await store.raw("P", "A", 0, T0 + 10) == [(T0, 2.0, None), (T0 + 1, 3.0, None)]
    finally:
        await store.close()


async def test_a_measure_moved_to_another_group_is_pruned_by_its_new_groups_caps(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.record("old", [("P", "A", 1.0, T0)])
        await store.record("new", [("P", "A", 2.0, T0 + 1)])
        assert await store.prune("old", max_age_seconds=1, max_points=100, now=T0 + 1000) == 0
        assert await store.prune("new", max_age_seconds=1, max_points=100, now=T0 + 1000) == 2
        assert [m["group"] for m in await store.measures()] == ["new"]
    finally:
        await store.close()


async def test_a_history_from_before_source_timestamps_opens_with_its_samples(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as old:  # the schema of releases before device timestamps were kept
        old.executescript(f"""
            CREATE TABLE series (id INTEGER PRIMARY KEY, controller TEXT NOT NULL, measure TEXT NOT NULL,
                                 grp TEXT NOT NULL, UNIQUE (controller, measure));
            CREATE TABLE samples (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
                                  PRIMARY KEY (series, ts)) WITHOUT ROWID;
            INSERT INTO series VALUES (1, 'P', 'A', 'g');
            INSERT INTO samples VALUES (1, {int(T0 * 1000)}, 4.5);""")
    old.close()
    store = await HistoryStore.open(path)
    try:
        await store.record("g", [("P", "A", 5.5, T0 + 1, T0 + 0.25)])  # the device measured it 0.75 s before we read it
        assert await store.raw("P", "A", 0, T0 + 10) == [(T0, 4.5, None), (T0 + 1, 5.5, T0 + 0.25)]
    finally:
        await store.close()

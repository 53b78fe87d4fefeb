"""History benchmark: a 7-day, 1-second history of 100 measures (60.5 million samples) in SQLite;
a downsampled one-week query of one measure for a chart, against aggregating the raw samples of
the same week with the same buckets, in one run. Also the file size and the ingest rate of the
recorder's own write path.

    python -m tests.bench.bench_history        (or: make bench; about 5 minutes and 2-3 GB of disk)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from gateway.store.history import HistoryStore

T0 = 1_699_999_200  # an hour boundary
DAY = 86_400


async def create(path: Path, measures: int) -> None:
    """Create the database and its series through the store itself (one sample each)."""
    store = await HistoryStore.open(path)
    await store.record("g", [("PLC", f"M{i:03d}", 0.0, T0 - 1) for i in range(measures)])
    await store.close()


def bulk_load(path: Path, measures: int, seconds: int) -> float:
    """Fill ``seconds`` of 1 s samples per measure, then the minute rollup; return the seconds taken."""
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    ids = [row[0] for row in db.execute("SELECT id FROM series ORDER BY id")]
    for series in ids:
        for day_start in range(0, seconds, DAY):
            end = min(seconds, day_start + DAY)
            db.executemany("INSERT INTO samples (series, ts, value) VALUES (?, ?, ?)",
                           ((series, (T0 + s) * 1000, 50.0 + 40.0 * math.sin(s / 3600.0 + series))
                            for s in range(day_start, end)))
        db.commit()
    db.execute("DELETE FROM minutes")
    db.execute("INSERT INTO minutes (series, minute, n, total, low, high) SELECT series, ts / 60000, count(*), "
               "sum(value), min(value), max(value) FROM samples GROUP BY series, ts / 60000")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - started


def raw_query(path: Path, series: int, start: float, end: float, width: float) -> int:
    """The baseline: the same buckets aggregated from the raw samples."""
    db = sqlite3.connect(path)
    step = int(width * 1000)
    rows = db.execute("SELECT ts / ? * ?, min(value), max(value), avg(value), count(*) FROM samples "
                      "WHERE series = ? AND ts >= ? AND ts < ? GROUP BY ts / ?",
                      (step, step, series, int(start * 1000), int(end * 1000), step)).fetchall()
    db.close()
    return len(rows)


async def measure(path: Path, seconds: int, repeats: int = 5) -> dict[str, float]:
    store = await HistoryStore.open(path)
    start, end = float(T0), float(T0 + seconds)
    ours, baseline, stats = [], [], []
    try:
        for _ in range(repeats):
            began = time.perf_counter()
            width, buckets = await store.query("PLC", "M042" if seconds > DAY else "M001", start, end, points=1000)
            ours.append(time.perf_counter() - began)
            began = time.perf_counter()
            count = await asyncio.to_thread(raw_query, path, 43 if seconds > DAY else 2, start, end, width)
            baseline.append(time.perf_counter() - began)
            began = time.perf_counter()
            await store.statistics("PLC", "M042" if seconds > DAY else "M001", now=end)
            stats.append(time.perf_counter() - began)
    finally:
        await store.close()
    return {"ours": statistics.median(ours), "baseline": statistics.median(baseline), "width": width,
            "buckets": len(buckets), "baseline_buckets": count, "stats": statistics.median(stats)}


async def ingest_rate(folder: Path, measures: int = 100, seconds: int = 600) -> float:
    """Samples per second through HistoryStore.record, one transaction per upload of all measures."""
    store = await HistoryStore.open(folder / "ingest.db")
    started = time.perf_counter()
    for s in range(seconds):
        await store.record("g", [("PLC", f"M{i:03d}", float(s), T0 + s) for i in range(measures)])
    elapsed = time.perf_counter() - started
    await store.close()
    return measures * seconds / elapsed


async def run(measures: int, days: float, folder: Path) -> str:
    seconds = int(days * DAY)
    path = folder / "history.db"
    await create(path, measures)
    load = await asyncio.to_thread(bulk_load, path, measures, seconds)
    size = path.stat().st_size
    result = await measure(path, seconds)
    rate = await ingest_rate(folder)
    points = measures * seconds
    return "\n".join([
        f"history of {measures} measures x {seconds:,} s = {points:,} samples: built in {load:.0f} s, "
        f"file {size / 2**30:.2f} GiB ({size / points:.1f} bytes per sample, rollup included)",
        f"one measure over {days:g} day(s) in {result['buckets']} buckets of {result['width']:.0f} s:",
        f"  from the minute rollup (ours)     median {result['ours'] * 1000:8.1f} ms",
        f"  from the raw samples (baseline)   median {result['baseline'] * 1000:8.1f} ms "
        f"({result['baseline_buckets']} buckets)",
        f"  ours takes {result['ours'] / result['baseline']:.3f} of the baseline's time",
        f"statistics (5 min, hour, day) of one measure: median {result['stats'] * 1000:.1f} ms",
        f"recorder ingest (HistoryStore.record, 100 measures per transaction): {rate:,.0f} samples/s "
        "(100 measures at 1 s need 100/s)",
    ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measures", type=int, default=100)
    parser.add_argument("--days", type=float, default=7)
    options = parser.parse_args()
    Path("build").mkdir(exist_ok=True)  # ignored by git; usually a bigger disk than /tmp
    with tempfile.TemporaryDirectory(dir="build") as folder:
        print(asyncio.run(run(options.measures, options.days, Path(folder))))


if __name__ == "__main__":
    main()

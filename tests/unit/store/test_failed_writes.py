"""A store whose write fails keeps nothing of it, and one that cannot open leaves no connection behind."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from gateway.core.errors import StoreError
from gateway.store import Outbox
from gateway.store.alarm_log import AlarmLog
from gateway.store.history import HistoryStore

T0 = 1_699_999_200.0
OPENERS: dict[str, Callable[[Path], Awaitable[object]]] = {
    "outbox": lambda path: Outbox.open(path, 1000, 1 << 20),
    "history": HistoryStore.open,
    "alarm log": lambda path: AlarmLog.open(path, 100),
}


@pytest.mark.parametrize("opener", OPENERS.values(), ids=OPENERS.keys())
async def test_a_file_that_is_no_database_is_refused_without_a_leaked_connection(
        tmp_path: Path, opener: Callable[[Path], Awaitable[object]]) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not an SQLite database, and it is long enough to be read as a header " * 20)
    threads = threading.active_count()
    with pytest.raises(StoreError, match="cannot open"):
        await opener(path)
    for _ in range(100):  # aiosqlite's connection thread ends just after close() returns
        if threading.active_count() == threads:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() == threads  # the connection was closed, not left behind


def poison_inserts(path: Path, table: str, column: str) -> None:
    """Make every insert into ``table`` whose ``column`` mentions 666 fail, as a full disk would."""
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TRIGGER poison BEFORE INSERT ON {table} WHEN CAST(NEW.{column} AS TEXT) LIKE '%666%' "
                   "BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END")


async def test_a_failed_alarm_write_does_not_leave_half_of_it_for_the_next_commit(tmp_path: Path) -> None:
    path = tmp_path / "alarms.db"
    await (await AlarmLog.open(path, 100)).close()
    poison_inserts(path, "events", "record")
    log = await AlarmLog.open(path, 100)
    try:
        with pytest.raises(StoreError):
            await log.raised("Overheat", {"timestamp": T0, "value": 666})
        await log.raised("Pressure", {"timestamp": T0 + 1, "value": 1})
        assert list(await log.active()) == ["Pressure"]  # Overheat's 'active' row was rolled back
        assert [e["value"] for e in await log.history()] == [1]
    finally:
        await log.close()


async def test_a_failed_history_write_keeps_nothing_of_its_cycle(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    await (await HistoryStore.open(path)).close()
    poison_inserts(path, "samples", "value")
    store = await HistoryStore.open(path)
    try:
        with pytest.raises(StoreError):
            await store.record("g", [("P", "A", 1.0, T0), ("P", "B", 666.0, T0)])
        assert await store.record("g", [("P", "C", 2.0, T0 + 1)]) == 1
        assert await store.raw("P", "A", T0 - 1, T0 + 2) == []  # the failed cycle's first row was not committed
        assert await store.record("g", [("P", "A", 3.0, T0 + 2)]) == 1  # its series is found again after the undo
        assert await store.raw("P", "A", T0 - 1, T0 + 3) == [(T0 + 2, 3.0, None)]
    finally:
        await store.close()

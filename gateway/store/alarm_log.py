"""The alarm log: the alarms active now (so they survive a restart) and the history of raises,
acknowledgements and clears, capped at ``max_alarm_records`` (the oldest go first)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.core.errors import StoreError

from .sqlite import open_database, undo

_SCHEMA = """
CREATE TABLE IF NOT EXISTS active (name TEXT PRIMARY KEY, since REAL NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, record TEXT NOT NULL);
"""


class AlarmLog:
    """Active alarms and their raise/clear history in SQLite."""

    def __init__(self, db: aiosqlite.Connection, max_records: int) -> None:
        self._db = db
        self._max_records = max_records

    @classmethod
    async def open(cls, path: Path, max_records: int) -> AlarmLog:
        """Open (or create) the alarm log at ``path``."""
        return cls(await open_database(path, "the alarm log", ["journal_mode=WAL"], _SCHEMA), max_records)

    async def close(self) -> None:
        """Close the database."""
        await self._db.close()

    async def active(self) -> dict[str, dict[str, Any]]:
        """Return the active alarms by rule name, as recorded when they were raised."""
        async with self._db.execute("SELECT name, record FROM active ORDER BY since") as cursor:
            return {name: json.loads(record) async for name, record in cursor}

    async def raised(self, name: str, record: dict[str, Any]) -> None:
        """Record a raise: the alarm becomes active and goes into the history."""
        await self._write(record, ("INSERT OR REPLACE INTO active (name, since, record) VALUES (?, ?, ?)",
                                   (name, record["timestamp"], json.dumps(record))))

    async def cleared(self, name: str, record: dict[str, Any]) -> None:
        """Record a clear: the alarm is no longer active; the clear goes into the history."""
        await self._write(record, ("DELETE FROM active WHERE name = ?", (name,)))

    async def acknowledge(self, name: str, by: str, now: float) -> dict[str, Any] | None:
        """Note that ``by`` has seen active alarm ``name``: it stays active until its condition
        clears, marked acknowledged, and the acknowledgement goes into the history. Return the
        alarm's record, or None when it is not active."""
        async with self._db.execute("SELECT record FROM active WHERE name = ?", (name,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        record = {**json.loads(row[0]), "acknowledged_by": by, "acknowledged_at": now}
        await self._write({**record, "current": "ack", "timestamp": now},
                          ("UPDATE active SET record = ? WHERE name = ?", (json.dumps(record), name)))
        return record

    async def history(self, limit: int = 500, before: int | None = None) -> list[dict[str, Any]]:
        """Return up to ``limit`` raises and clears, newest first (before event id ``before``)."""
        sql = "SELECT id, record FROM events" + (" WHERE id < ?" if before else "") + " ORDER BY id DESC LIMIT ?"
        args = (before, limit) if before else (limit,)
        async with self._db.execute(sql, args) as cursor:
            return [{"id": event_id, **json.loads(record)} async for event_id, record in cursor]

    async def _write(self, record: dict[str, Any], change: tuple[str, tuple[Any, ...]]) -> None:
        try:
            await self._db.execute(*change)
            await self._db.execute("INSERT INTO events (ts, record) VALUES (?, ?)", (record["timestamp"],
                                                                                     json.dumps(record)))
            await self._db.execute("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?",
                                   (self._max_records,))
            await self._db.commit()
        except (sqlite3.Error, OSError) as exc:
            await undo(self._db)
            raise StoreError(f"cannot write the alarm log: {exc}") from exc

"""The audit log: every PLC write, login, failed login, password, configuration and script change,
kept in SQLite beside the other stores and capped at ``max_records`` (the oldest go first).

Recording never waits for the disk: a write to a PLC must not pay a commit. Entries are queued and
one task commits whatever has queued up, so a burst of writes from a SCADA costs one commit."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.core.errors import StoreError

from .sqlite import open_database, undo

log = logging.getLogger("gateway.audit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL,
                                  action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);
"""
MAX_RECORDS = 50_000  # some 10 MB: months of a busy site's writes and logins
_MAX_TEXT = 2000  # a field's longest text kept (a configuration change can name many items)
_Entry = tuple[float, str, str, str, str]


class AuditLog:
    """The audit entries in SQLite; :meth:`record` queues, a task commits."""

    def __init__(self, db: aiosqlite.Connection, max_records: int) -> None:
        self._db = db
        self._max_records = max_records
        self._pending: list[_Entry] = []
        self._committing: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path, max_records: int = MAX_RECORDS) -> AuditLog:
        """Open (or create) the audit log at ``path``."""
        return cls(await open_database(path, "the audit log", ["journal_mode=WAL", "synchronous=NORMAL"], _SCHEMA),
                   max_records)

    def record(self, actor: str, action: str, subject: str, detail: str = "") -> None:
        """Queue an entry and log it; it is committed within moments."""
        entry = (time.time(), actor[:_MAX_TEXT], action[:_MAX_TEXT], subject[:_MAX_TEXT], detail[:_MAX_TEXT])
        self._pending.append(entry)
        log.info("%s: %s %s%s", actor, action, subject, f" ({detail})" if detail else "")
        if self._committing is None or self._committing.done():
            self._committing = asyncio.get_running_loop().create_task(self._commit_pending())

    async def entries(self, limit: int = 200, before: int | None = None, text: str = "") -> list[dict[str, Any]]:
        """Return up to ``limit`` entries, newest first (before entry id ``before``), those
        mentioning ``text`` only when it is given."""
        await self.settle()
        where: list[str] = []
        args: list[int | str] = []
        if before:
            where.append("id < ?")
            args.append(before)
        if text:
            where.append("(actor || ' ' || action || ' ' || subject || ' ' || detail) LIKE ? ESCAPE '\\'")
            args.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        sql = ("SELECT id, ts, actor, action, subject, detail FROM audit" + (" WHERE " + " AND ".join(where)
               if where else "") + " ORDER BY id DESC LIMIT ?")
        async with self._db.execute(sql, (*args, limit)) as cursor:
            return [{"id": row[0], "timestamp": row[1], "actor": row[2], "action": row[3], "subject": row[4],
                     "detail": row[5]} async for row in cursor]

    async def settle(self) -> None:
        """Return once every entry recorded so far is committed (or its commit failed)."""
        while self._committing is not None and not self._committing.done():
            await asyncio.shield(self._committing)

    async def close(self) -> None:
        """Commit what is queued and close the database."""
        await self.settle()
        await self._db.close()

    async def _commit_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._db.executemany(
                    "INSERT INTO audit (ts, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)", batch)
                await self._db.execute("DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?",
                                       (self._max_records,))
                await self._db.commit()
            except (sqlite3.Error, OSError, ValueError) as exc:
                await undo(self._db)
                log.error("%s", StoreError(f"cannot write {len(batch)} audit entry(ies): {exc}"))

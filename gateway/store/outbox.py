"""The durable store-and-forward queue (docs/design.md section 5).

Every message is committed to SQLite (WAL) before anything sends it; one upload cycle is one
transaction, never one commit per message. Rows are deleted only when the broker acknowledged
them; acknowledgements are collected and deleted in batches, so a crash can at worst resend an
acknowledged message (at-least-once), never lose one. Order is the row id: enqueue order.
When the caps are exceeded the oldest rows are evicted, counted and logged.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from gateway.core.errors import StoreError
from gateway.core.messages import OutgoingMessage
from gateway.core.tasks import stop_if_cancelled

from .sqlite import open_database, undo

log = logging.getLogger("gateway.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cloud TEXT NOT NULL,
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_cloud ON outbox (cloud, id);
"""


@dataclass(frozen=True)
class StoredMessage:
    """A committed message waiting for delivery."""

    id: int
    cloud: str
    topic: str
    qos: int
    payload: bytes


class Outbox:
    """FIFO per cloud, bounded by count and size, durable across crashes."""

    def __init__(self, db: aiosqlite.Connection, max_messages: int, max_bytes: int) -> None:
        self._db = db
        self._max_messages, self._max_bytes = max_messages, max_bytes
        self._count = 0
        self._bytes = 0
        self.evicted = 0
        self._acked: set[int] = set()
        self._flushing: set[int] = set()
        self._arrivals: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, max_messages: int, max_bytes: int, durability: str = "normal") -> Outbox:
        """Open (or create) the outbox database at ``path``."""
        synchronous = "FULL" if durability == "full" else "NORMAL"
        db = await open_database(path, "the outbox", ["journal_mode=WAL", f"synchronous={synchronous}"], _SCHEMA)
        try:
            async with db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox") as cur:
                row = await cur.fetchone()
        except sqlite3.Error as exc:
            await db.close()
            raise StoreError(f"cannot open the outbox at {path}: {exc}") from exc
        outbox = cls(db, max_messages, max_bytes)
        outbox._count, outbox._bytes = (row or (0, 0))
        if outbox._count:
            log.info("outbox: %d message(s) kept from the last run will be delivered first", outbox._count)
        return outbox

    @property
    def depth(self) -> int:
        """Return how many messages wait (acknowledged ones not counted)."""
        return self._count - len(self._acked) - len(self._flushing)

    async def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        """Commit ``messages`` in one transaction, evicting the oldest beyond the caps.

        A started transaction always completes: cancelling the caller does not cancel the write.
        """
        if not messages:
            return
        await asyncio.shield(self._enqueue(messages))
        for cloud in {m.cloud for m in messages}:
            self.arrival(cloud).set()

    async def _enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        now = time.time()
        rows = [(m.cloud, m.topic, m.qos, m.payload, len(m.payload), now) for m in messages]
        async with self._lock:
            counted = self._count, self._bytes, self.evicted
            try:
                await self._db.executemany(
                    "INSERT INTO outbox (cloud, topic, qos, payload, size, created) VALUES (?, ?, ?, ?, ?, ?)", rows
                )
                self._count += len(rows)
                self._bytes += sum(row[4] for row in rows)
                await self._evict_over_caps()
                await self._db.commit()
            except (sqlite3.Error, OSError) as exc:
                await undo(self._db)
                self._count, self._bytes, self.evicted = counted  # nothing of the cycle was stored or evicted
                raise StoreError(f"cannot store {len(rows)} message(s): {exc}") from exc

    def arrival(self, cloud: str) -> asyncio.Event:
        """Return the event set whenever messages for ``cloud`` are enqueued."""
        return self._arrivals.setdefault(cloud, asyncio.Event())

    async def fetch(self, cloud: str, after_id: int, limit: int, up_to_id: int | None = None) -> list[StoredMessage]:
        """Return up to ``limit`` undelivered messages of ``cloud`` with ``after_id < id <= up_to_id``,
        oldest first."""
        pending = self._acked | self._flushing
        async with self._db.execute(
            "SELECT id, cloud, topic, qos, payload FROM outbox WHERE cloud = ? AND id > ? AND id <= ? "
            "ORDER BY id LIMIT ?",
            (cloud, after_id, up_to_id if up_to_id is not None else 2**63 - 1, limit + len(pending)),
        ) as cursor:
            rows = await cursor.fetchall()
        found = [StoredMessage(*row) for row in rows if row[0] not in pending]
        return found[:limit]

    async def last_id(self, cloud: str) -> int:
        """Return the id of the newest message of ``cloud`` (0 when there is none)."""
        async with self._db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox WHERE cloud = ?", (cloud,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    def ack(self, message_id: int) -> None:
        """Mark a message delivered; it is deleted with the next flush."""
        self._acked.add(message_id)

    async def flush_acks(self) -> int:
        """Delete acknowledged messages in one transaction; return how many."""
        if not self._acked:
            return 0
        return await asyncio.shield(self._delete_acked())

    async def _delete_acked(self) -> int:
        self._flushing, self._acked = self._acked, set()
        ids = sorted(self._flushing)
        async with self._lock:
            try:
                async with self._db.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox WHERE id IN ({_marks(ids)})",
                    ids,
                ) as cur:
                    count, size = await cur.fetchone() or (0, 0)
                await self._db.execute(f"DELETE FROM outbox WHERE id IN ({_marks(ids)})", ids)
                await self._db.commit()
            except Exception as exc:
                self._acked |= self._flushing
                raise StoreError(f"cannot delete delivered messages: {exc}") from exc
            finally:
                self._flushing = set()
        self._count -= count
        self._bytes -= size
        return len(ids)

    async def run_ack_flusher(self, interval: float = 0.1) -> None:
        """Flush acknowledgements every ``interval`` seconds until cancelled."""
        while True:
            stop_if_cancelled()
            await asyncio.sleep(interval)
            try:
                await self.flush_acks()
            except StoreError as exc:
                log.error("%s (will retry)", exc)

    async def close(self) -> None:
        """Delete what was acknowledged, checkpoint the WAL and close.

        Waits for a write still in progress, so nothing committed-to is rolled back.
        """
        try:
            await self.flush_acks()
            async with self._lock:
                await self._db.commit()
                await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (sqlite3.Error, OSError, ValueError) as exc:  # the data is safe in the WAL either way
            log.warning("outbox: checkpoint at close failed (%s); the WAL is replayed on the next start", exc)
        finally:
            await self._db.close()

    async def _evict_over_caps(self) -> None:
        """Evict the oldest rows until both caps hold again (inside the caller's transaction)."""
        excess = max(0, self._count - self._max_messages)
        if self._bytes > self._max_bytes:
            async with self._db.execute(
                "SELECT COUNT(*) FROM (SELECT SUM(size) OVER (ORDER BY id) AS running FROM outbox) "
                "WHERE running < ?", (self._bytes - self._max_bytes,)
            ) as cur:
                excess = max(excess, (await cur.fetchone() or (0,))[0] + 1)
        if not excess:
            return
        async with self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM (SELECT size FROM outbox ORDER BY id LIMIT ?)", (excess,)
        ) as cur:
            count, size = await cur.fetchone() or (0, 0)
        await self._db.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,))
        self._count -= count
        self._bytes -= size
        self.evicted += count
        log.warning("outbox full: evicted the %d oldest message(s) (%d evicted since start)", count, self.evicted)


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))

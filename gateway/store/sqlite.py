"""Open a store's SQLite database and undo a failed write, the same way for every store."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import aiosqlite

from gateway.core.errors import StoreError


async def open_database(path: Path, what: str, pragmas: Sequence[str], schema: str) -> aiosqlite.Connection:
    """Connect to ``path``, apply ``pragmas`` and ``schema``; raise StoreError naming ``what`` when
    that fails, with the connection (and its thread) closed rather than left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = await aiosqlite.connect(path)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open {what} at {path}: {exc}") from exc
    try:
        for pragma in pragmas:
            await db.execute(f"PRAGMA {pragma}")
        await db.executescript(schema)
    except (sqlite3.Error, OSError) as exc:
        await db.close()
        raise StoreError(f"cannot open {what} at {path}: {exc}") from exc
    return db


async def undo(db: aiosqlite.Connection) -> None:
    """Roll back the transaction a failed write left open, so that the next write does not commit
    half of it; a connection too broken to roll back fails the next write on its own."""
    with contextlib.suppress(sqlite3.Error, ValueError):  # ValueError: the connection is closed
        await db.rollback()

"""Scripts' own time-series tables (``quickfaas.LWTSDB``), kept in the history database.

A row is Device Supervisor's ``{"<timestamp>": {controller: {measure: [health, value]}}}``: a time
in whole seconds and a JSON document. Tables are capped in rows (the oldest go first) and a
document in size, so no script can fill the gateway's flash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.core.errors import GatewayError

from .sqlite import open_database

MAX_ROWS_PER_TABLE = 100_000
MAX_ROW_BYTES = 64 * 1024
MAX_TABLES = 64
MAX_QUERY_ROWS = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS script_rows (
    tbl TEXT NOT NULL, ts INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS script_rows_by_time ON script_rows (tbl, ts);
"""
OKAY = {"return_code": 0, "return_msg": "okay"}


class ScriptTables:
    """Insert, query and remove rows of the scripts' tables."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> ScriptTables:
        """Open the tables in the database at ``path`` (the history's), creating them if needed."""
        return cls(await open_database(path, "the scripts' tables", ["journal_mode=WAL", "synchronous=NORMAL"],
                                       _SCHEMA))

    async def close(self) -> None:
        await self._db.close()

    async def insert(self, table: str, data: Any) -> dict[str, Any]:
        """Insert ``[{"<ts>": document}, ...]`` (or one ``{"<ts>": document, ...}``) into ``table``."""
        table = _table_name(table)
        rows = []
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, Mapping):
                raise GatewayError('insert_request: data is [{"<timestamp>": {controller: {measure: [health, '
                                   'value]}}}]')
            for stamp, document in item.items():
                text = json.dumps(document, separators=(",", ":"))
                if len(text) > MAX_ROW_BYTES:
                    raise GatewayError(f"insert_request: a row of {len(text)} bytes; at most {MAX_ROW_BYTES}")
                rows.append((table, table_time(stamp), text))
        if not rows:
            return dict(OKAY)
        async with self._db.execute("SELECT count(DISTINCT tbl) FROM script_rows WHERE tbl != ?", (table,)) as cursor:
            others = (await cursor.fetchone() or (0,))[0]
        if others >= MAX_TABLES:
            raise GatewayError(f"insert_request: scripts keep at most {MAX_TABLES} tables")
        await self._db.executemany("INSERT INTO script_rows (tbl, ts, doc) VALUES (?, ?, ?)", rows)
        await self._db.execute("DELETE FROM script_rows WHERE tbl = ? AND rowid IN (SELECT rowid FROM script_rows "
                               "WHERE tbl = ? ORDER BY ts DESC, rowid DESC LIMIT -1 OFFSET ?)",
                               (table, table, MAX_ROWS_PER_TABLE))
        await self._db.commit()
        return dict(OKAY)

    async def query(self, table: str, start: Any = None, end: Any = None, row_filter: Any = None,
                    limit: int = 1000, offset: int = 0,
                    recorded: Mapping[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Return ``{"total", "offset", "size", "data": [{"<ts>": document}]}``: ``start`` <= ts < ``end``,
        ascending (descending when only ``end`` is given), the filter's measures only. ``recorded``
        are a group's history rows by second (``table`` is the group's name), merged with the
        table's own rows."""
        table = _table_name(table)
        where, args = _window(table, start, end)
        order = "DESC" if start is None and end is not None else "ASC"
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 0 or offset < 0:
            raise GatewayError("query_request: limit and offset are whole numbers, 0 or more")
        limit = MAX_QUERY_ROWS if limit == 0 else min(limit, MAX_QUERY_ROWS)
        if recorded is not None:
            return await self._merged(where, args, order, recorded, row_filter, limit, offset)
        async with self._db.execute(f"SELECT count(*) FROM script_rows WHERE {where}", args) as cursor:
            total = (await cursor.fetchone() or (0,))[0]
        async with self._db.execute(f"SELECT ts, doc FROM script_rows WHERE {where} ORDER BY ts {order}, rowid "
                                    f"{order} LIMIT ? OFFSET ?", (*args, limit, offset)) as cursor:
            rows = [{str(ts): _filtered(json.loads(doc), row_filter)} async for ts, doc in cursor]
        return {"total": total, "offset": offset, "size": len(rows), "data": rows}

    async def _merged(self, where: str, args: tuple[Any, ...], order: str, recorded: Mapping[int, dict[str, Any]],
                      row_filter: Any, limit: int, offset: int) -> dict[str, Any]:
        """Merge the table's rows (at most MAX_QUERY_ROWS) into a group's recorded rows, then page."""
        documents = {second: {c: dict(m) for c, m in doc.items()} for second, doc in recorded.items()}
        async with self._db.execute(f"SELECT ts, doc FROM script_rows WHERE {where} ORDER BY ts {order} LIMIT ?",
                                    (*args, MAX_QUERY_ROWS)) as cursor:
            async for ts, text in cursor:
                document = json.loads(text)
                merged = documents.setdefault(ts, {})
                for controller, measures in (document.items() if isinstance(document, dict) else ()):
                    merged.setdefault(controller, {}).update(measures if isinstance(measures, dict) else {})
        seconds = sorted(documents, reverse=order == "DESC")
        page = seconds[offset:offset + limit]
        rows = [{str(second): _filtered(documents[second], row_filter)} for second in page]
        return {"total": len(seconds), "offset": offset, "size": len(rows), "data": rows}

    async def remove(self, table: str, start: Any = None, end: Any = None) -> dict[str, Any]:
        """Delete ``table``'s rows with ``start`` <= ts < ``end`` (both None: all of them)."""
        where, args = _window(_table_name(table), start, end)
        await self._db.execute(f"DELETE FROM script_rows WHERE {where}", args)
        await self._db.commit()
        return dict(OKAY)


def _table_name(name: Any) -> str:
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        raise GatewayError("a table name is a string of 1 to 64 characters")
    return name


def _window(table: str, start: Any, end: Any) -> tuple[str, tuple[Any, ...]]:
    where: list[str] = ["tbl = ?"]
    args: list[Any] = [table]
    if start is not None:
        where.append("ts >= ?")
        args.append(table_time(start))
    if end is not None:
        where.append("ts < ?")
        args.append(table_time(end))
    return " AND ".join(where), tuple(args)


def table_time(when: Any) -> int:
    """A time as Device Supervisor scripts give it: seconds (number or digits) or local
    ``%Y-%m-%d %H:%M:%S``."""
    if isinstance(when, int | float) and not isinstance(when, bool):
        return int(when)
    if isinstance(when, str):
        if when.strip().lstrip("-").isdigit():
            return int(when)
        try:
            return int(time.mktime(datetime.strptime(when.strip(), "%Y-%m-%d %H:%M:%S").timetuple()))
        except ValueError:
            pass
    raise GatewayError(f"time {when!r}: give seconds or 'YYYY-MM-DD HH:MM:SS'")


def _filtered(document: Any, row_filter: Any) -> Any:
    """Apply Device Supervisor's filter: ``default`` accept_all with a black_list, or deny_all with
    a white_list of ``{controller: [measures]}``."""
    if not isinstance(row_filter, Mapping) or not isinstance(document, dict):
        return document
    accept = row_filter.get("default", "accept_all") != "deny_all"
    listed = row_filter.get("black_list" if accept else "white_list") or {}
    result: dict[str, Any] = {}
    for controller, measures in document.items():
        names = set(listed.get(controller, [])) if isinstance(listed, Mapping) else set()
        kept = {m: v for m, v in measures.items() if (m not in names) == accept} if isinstance(measures, dict) \
            else measures
        if kept:
            result[controller] = kept
    return result

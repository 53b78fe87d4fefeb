"""The audit log: who wrote to the PLCs, logged in, and changed the configuration or a script."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.store.audit_log import MAX_RECORDS, AuditLog

from .api import Api, ApiError
from .context import STARTING, backend_of


def register(api: Api) -> None:
    """Add the audit endpoints."""
    filters = (("limit", "integer", "at most this many (200, at most 1000)"),
               ("before", "integer", "older than this entry id"), ("filter", "string", "entries mentioning this text"))
    api.route("GET", "/audit", "Audit entries, newest first", "audit", query=filters)(entries)
    api.route("GET", "/audit.csv", "The audit log as CSV", "audit",
              query=(("filter", "string", "entries mentioning this text"),))(download)


async def entries(request: web.Request, _body: None) -> list[dict[str, Any]]:
    try:
        limit = int(request.query.get("limit", "200"))
        before = int(request.query["before"]) if request.query.get("before") else None
    except ValueError as exc:
        raise ApiError(400, "limit and before are whole numbers") from exc
    if not 1 <= limit <= 1000 or (before is not None and not 0 < before < 2**63):
        raise ApiError(400, "limit must be between 1 and 1000, before an entry id (a positive whole number)")
    return await _log(request).entries(limit, before, _filter(request))


async def download(request: web.Request, _body: None) -> web.Response:
    rows = await _log(request).entries(MAX_RECORDS, None, _filter(request))  # the whole log
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "time_utc", "actor", "action", "subject", "detail"])
    for row in rows:
        writer.writerow([row["id"], datetime.fromtimestamp(row["timestamp"], UTC).isoformat(), row["actor"],
                         row["action"], row["subject"], row["detail"]])
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


def _filter(request: web.Request) -> str:
    return request.query.get("filter", "").strip()[:200]


def _log(request: web.Request) -> AuditLog:
    audit = backend_of(request).audit
    if audit is None:
        raise ApiError(503, STARTING)
    return audit

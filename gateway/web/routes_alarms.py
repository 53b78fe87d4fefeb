"""The alarm log: the alarms active now and the history of raises and clears."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gateway.core.audit import ALARM

from .api import Api, ApiError
from .context import actor, audit, running


def register(api: Api) -> None:
    """Add the alarm endpoints."""
    api.route("GET", "/alarms/active", "The alarms active now", "alarms")(active_alarms)
    api.route("POST", "/alarms/{name}/acknowledge", "Acknowledge an active alarm (kept in the alarm log)",
              "alarms")(acknowledge)
    api.route("GET", "/alarms/history", "Raises and clears, newest first", "alarms",
              query=(("limit", "integer", "at most this many (500)"), ("before", "integer", "older than this id")))(
        alarm_history)


async def active_alarms(request: web.Request, _body: None) -> list[dict[str, Any]]:
    data = running(request)
    if data.alarm_log is None:
        return []
    units = {(m.controller, m.name): m.unit for m in data.config.model.measures if m.unit}
    return [{**record, "unit": units.get((str(record.get("ctrlName")), str(record.get("measureName"))), "")}
            for record in (await data.alarm_log.active()).values()]


async def acknowledge(request: web.Request, _body: None) -> dict[str, Any]:
    name = request.match_info["name"]
    alarm_log = running(request).alarm_log
    record = await alarm_log.acknowledge(name, actor(request), time.time()) if alarm_log is not None else None
    if record is None:
        raise ApiError(404, f"alarm '{name}' is not active")
    audit(request, ALARM, name, "acknowledged")
    return record


async def alarm_history(request: web.Request, _body: None) -> list[dict[str, Any]]:
    alarm_log = running(request).alarm_log
    try:
        limit = max(1, min(500, int(request.query.get("limit", "500"))))
        before = int(request.query["before"]) if request.query.get("before") else None
    except ValueError as exc:
        raise ApiError(400, "limit and before are whole numbers") from exc
    if before is not None and not 0 < before < 2**63:
        raise ApiError(400, "before is an alarm event id (a positive whole number)")
    return await alarm_log.history(limit, before) if alarm_log is not None else []

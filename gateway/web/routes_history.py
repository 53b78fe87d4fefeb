"""History for charts: downsampled series, CSV download, and statistics per measure."""

from __future__ import annotations

import csv
import io
import math
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.store.history import HistoryStore

from .api import Api, ApiError
from .context import running

MAX_SPAN = 400 * 86400


def register(api: Api) -> None:
    """Add the history endpoints."""
    window = (("controller", "string", "the measure's controller"), ("measure", "string", "the measure"),
              ("start", "number", "epoch seconds (default: an hour ago)"), ("end", "number", "epoch seconds (now)"))
    api.route("GET", "/history/measures", "Measures with history", "history")(measures)
    api.route("GET", "/history", "A measure's history in about `points` buckets (min/max/avg)", "history",
              query=(*window, ("points", "integer", "buckets wanted (10-5000)")))(series)
    api.route("GET", "/history/export.csv", "A measure's stored samples as CSV", "history", query=window)(export)
    api.route("GET", "/statistics", "avg/min/max/count over the last 5 min, hour and day", "history",
              query=window[:2])(statistics)


def _store(request: web.Request) -> HistoryStore:
    store = running(request).history
    if store is None:
        raise ApiError(404, "no group keeps history: set history: true on a group")
    return store


def _measure(request: web.Request) -> tuple[str, str]:
    controller, measure = request.query.get("controller", ""), request.query.get("measure", "")
    if not controller or not measure:
        raise ApiError(400, "name the controller and the measure")
    return controller, measure


def _window(request: web.Request) -> tuple[float, float]:
    try:
        end = float(request.query.get("end") or time.time())
        start = float(request.query.get("start") or end - 3600)
    except ValueError as exc:
        raise ApiError(400, "start and end are epoch seconds") from exc
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start or end - start > MAX_SPAN:
        raise ApiError(400, "the window needs start < end, at most 400 days apart")
    return start, end


async def measures(request: web.Request, _body: None) -> list[dict[str, Any]]:
    data = running(request)
    if data.history is None:
        return []
    units = {(m.controller, m.name): m.unit for m in data.config.model.measures}
    return [{**m, "unit": units.get((m["controller"], m["measure"]), "")} for m in await data.history.measures()]


async def series(request: web.Request, _body: None) -> dict[str, Any]:
    controller, measure = _measure(request)
    start, end = _window(request)
    try:
        points = int(request.query.get("points", "1000"))
    except ValueError as exc:
        raise ApiError(400, "points is a whole number") from exc
    if not 10 <= points <= 5000:
        raise ApiError(400, "points must be between 10 and 5000")
    width, buckets = await _store(request).query(controller, measure, start, end, points)
    return {"controller": controller, "measure": measure, "start": start, "end": end, "width": width,
            "buckets": [[b.t, b.low, b.high, b.avg, b.count] for b in buckets]}


async def export(request: web.Request, _body: None) -> web.Response:
    controller, measure = _measure(request)
    start, end = _window(request)
    rows = await _store(request).raw(controller, measure, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "time_utc", "controller", "measure", "value", "source_timestamp"])
    for timestamp, value, source in rows:
        writer.writerow([f"{timestamp:.3f}", datetime.fromtimestamp(timestamp, UTC).isoformat(), controller, measure,
                         value, "" if source is None else f"{source:.3f}"])
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{controller}-{measure}")[:80]
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="history-{name}.csv"'})


async def statistics(request: web.Request, _body: None) -> dict[str, Any]:
    controller, measure = _measure(request)
    return await _store(request).statistics(controller, measure)


"""The measures table with live values, writes to ``rw`` measures, and measure.csv import/export.

The table is paged, filtered and sorted on the server, so 10,000 measures cost the browser one
page; the WebSocket then pushes the values that change.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from gateway.config.save import edit_config
from gateway.core.errors import ConfigError
from gateway.device_supervisor.measure_csv import column_of, read_measures, write_measures
from gateway.scripting.loading import check_scripts

from .api import Api, ApiError
from .context import STARTING, actor, backend_of
from .reading_view import source_fields
from .uploads import read_body

MAX_PAGE = 500
MAX_CSV_BYTES = 8 * 1024 * 1024
MAX_ERRORS_SHOWN = 100
MAX_LINE_CHARS = 64 * 1024  # a measure's row is some 200 characters
SORTABLE = ("name", "controller", "group", "address", "type", "access", "value", "unit", "status", "timestamp")
_MEASURE_PATH = re.compile(r"^measures\[(\d+)\]\.?(\w*)")


class WriteValue(BaseModel):
    """A value for an ``rw`` measure, in engineering units."""

    value: float | int | bool | str


def register(api: Api) -> None:
    """Add the measures endpoints."""
    api.route("GET", "/measures", "Measures with live values, paged", "measures", query=(
        ("offset", "integer", "first row"), ("limit", "integer", f"rows (at most {MAX_PAGE})"),
        ("filter", "string", "text in name, controller, group or address"),
        ("sort", "string", f"one of {', '.join(SORTABLE)}"), ("order", "string", "asc or desc")))(table)
    api.route("POST", "/measures/{controller}/{name}/write", "Write a value to an rw measure", "measures",
              body=WriteValue)(write)
    api.route("GET", "/measures/export.csv", "The measures as Device Supervisor's measure.csv", "measures")(export)
    api.route("POST", "/measures/import", "Add or replace measures from a measure.csv (all rows or none)",
              "measures", raw_body="text/csv")(import_csv)


def rows(request: web.Request) -> list[dict[str, Any]]:
    """Return every measure with its latest reading."""
    backend = backend_of(request)
    data = backend.live_data()
    result = []
    for m in backend.config.model.measures:
        reading = data.latest.get(m.controller, m.name) if data is not None else None
        result.append({"controller": m.controller, "name": m.name, "group": m.group, "address": m.address,
                       "type": m.type.value, "access": m.access, "unit": m.unit, "decimal": m.decimal,
                       "value": reading.value if reading else None,
                       "status": reading.status if reading else 0,
                       "timestamp": reading.timestamp if reading and reading.timestamp else None,
                       "error": reading.error if reading else "", **source_fields(reading)})
    return result


async def table(request: web.Request, _body: None) -> dict[str, Any]:
    query = request.query
    offset, limit = _integer(query.get("offset"), 0, "offset"), _integer(query.get("limit"), 100, "limit")
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, f"offset must be 0 or more and limit between 1 and {MAX_PAGE}")
    sort, order = query.get("sort", "name"), query.get("order", "asc")
    if sort not in SORTABLE or order not in ("asc", "desc"):
        raise ApiError(400, f"sort must be one of {', '.join(SORTABLE)} and order asc or desc")
    chosen = rows(request)
    text = query.get("filter", "").strip().lower()
    if text:
        chosen = [r for r in chosen if any(text in str(r[k]).lower() for k in ("name", "controller", "group",
                                                                               "address"))]
    chosen.sort(key=lambda r: _sort_key(r[sort]), reverse=order == "desc")
    return {"total": len(chosen), "offset": offset, "items": chosen[offset:offset + limit]}


async def write(request: web.Request, body: WriteValue) -> dict[str, Any]:
    controller, name = request.match_info["controller"], request.match_info["name"]
    result = await backend_of(request).write_value(controller, name, body.value, by=actor(request))
    if result is None:
        raise ApiError(503, STARTING)
    if result["result"] != "OK":
        raise ApiError(409, f"not written: {result['error']}", result=result)
    return result


async def export(request: web.Request, _body: None) -> web.Response:
    text = write_measures(backend_of(request).config.model.measures)
    return web.Response(text=text, content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="measure.csv"'})


async def import_csv(request: web.Request, _body: None) -> dict[str, Any]:
    raw = await read_body(request, MAX_CSV_BYTES)
    # decoded a few KiB at a time as the rows are read: a text copy of the whole file (and the
    # four bytes per character an in-memory text file keeps) would cost five times its size
    lines = _lines(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline=""), MAX_LINE_CHARS)
    try:
        parsed = await asyncio.to_thread(read_measures, lines)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "the file is not UTF-8 text") from exc
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
        raise ApiError(400, f"not a measure.csv: {exc}") from exc
    if parsed.errors:
        shown = parsed.errors[:MAX_ERRORS_SHOWN]
        more = [f"... and {len(parsed.errors) - len(shown)} more"] if len(parsed.errors) > len(shown) else []
        raise ApiError(422, f"nothing was imported: {len(parsed.errors)} problem(s)", errors=shown + more)
    if not parsed.measures:
        raise ApiError(400, "the file holds no measures")
    row_of_index: dict[int, int] = {}

    def change(document: Any) -> None:
        items = document.get("measures")
        if items is None:
            items = document["measures"] = []
        where = {(str(m.get("controller")), str(m.get("name"))): i for i, m in enumerate(items)}
        for measure, row in zip(parsed.measures, parsed.rows, strict=True):
            key = (measure["controller"], measure["name"])
            if key in where:
                items[where[key]] = measure
            else:
                where[key] = len(items)
                items.append(measure)
            row_of_index[where[key]] = row

    backend = backend_of(request)
    try:
        _, loaded = await backend.change(lambda: edit_config(backend.config.path, change, check_scripts,
                                                             section="measures", whole_items=True),
                                         by=actor(request), how="imported measure.csv")
    except ConfigError as exc:
        errors = [_row_problem(p.path, p.message, row_of_index) for p in exc.problems]
        raise ApiError(422, f"nothing was imported: {len(errors)} problem(s)", errors=errors) from exc
    return {"imported": len(parsed.measures), "measures": len(loaded.model.measures)}


def _row_problem(path: str, message: str, row_of_index: dict[int, int]) -> str:
    match = _MEASURE_PATH.match(path)
    if match and int(match.group(1)) in row_of_index:
        column = column_of(match.group(2)) if match.group(2) else "row"
        return f"row {row_of_index[int(match.group(1))]}: {column}: {message}"
    return f"{path}: {message}"


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers before text, empty last, whatever mix of types a column holds."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value).lower())


def _integer(text: str | None, default: int, name: str) -> int:
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be a whole number") from exc


def _lines(stream: io.TextIOWrapper, limit: int) -> Iterator[str]:
    """Yield the lines of ``stream``; raise csv.Error at one longer than ``limit`` characters
    rather than reading all of it into one string."""
    while line := stream.readline(limit + 1):
        if len(line) > limit:
            raise csv.Error(f"a line is longer than {limit} characters")
        yield line

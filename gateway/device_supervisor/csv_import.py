"""Device Supervisor's CSV files: the 1.x set (``device.csv``, ``var.csv``, ``group.csv``,
``warn.csv``) makes a whole configuration; the 2.x files (``measure.csv``, ``group.csv``,
``alarm.csv``) add measures, groups and alarms to an existing one (2.x keeps controllers apart).

Headers are matched loosely (case, spaces, ``_`` and ``-`` do not matter, and the names the two
versions used are all known); a column that is not understood is reported, never guessed at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.core.errors import GatewayError

from .cfg_import import Imported, import_cfg
from .measure_csv import read_measures

_V1_FILES = ("device.csv", "var.csv")
_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "device": {"name": ("devicename", "name", "controllername"), "protocol": ("protocol", "devicetype"),
               "endpoint": ("endpoint", "address", "ipaddress", "ip", "serialport", "com"), "port": ("port",),
               "period": ("pollinginterval", "pollingperiod", "sampleperiod", "period", "interval"),
               "slave": ("slaveaddress", "slave", "unitid", "stationno"), "rack": ("rack",), "slot": ("slot",)},
    "var": {"name": ("variablename", "varname", "name", "measuringpointname"),
            "device": ("devicename", "device", "controllername"), "address": ("address", "addr"),
            "type": ("datatype", "type"), "access": ("readwrite", "access", "attribute"),
            "group": ("group", "groupname"), "unit": ("unit",), "desc": ("description", "desc"),
            "decimal": ("decimal", "decimals")},
    "group": {"name": ("groupname", "name"), "interval": ("uploadinterval", "interval", "period"),
              "history": ("enablehistory", "history", "storage"), "size": ("historysize", "lwtsdbsize")},
    "alarm": {"name": ("alarmname", "name"), "controller": ("controllername", "devicename", "device"),
              "measure": ("measuringpointname", "variablename", "variable", "varname", "measure"),
              "level": ("alarmlevel", "level"), "op1": ("condition1", "condition", "op"),
              "value1": ("operand1", "value", "threshold", "operand"), "combine": ("combinemethod", "combine"),
              "op2": ("condition2",), "value2": ("operand2",), "content": ("alarmcontent", "content"),
              "label": ("alarmtag", "label", "tag")},
}
_OP_WORDS = {">": "gt", ">=": "egt", "<": "lt", "<=": "elt", "=": "eq", "==": "eq", "!=": "neq", "<>": "neq"}


def import_csv_set(folder: Path) -> Imported:
    """Read Device Supervisor 1.x CSVs (device.csv and var.csv, optional group.csv and warn.csv)."""
    missing = [name for name in _V1_FILES if not (folder / name).exists()]
    if missing:
        raise GatewayError(f"{folder}: a Device Supervisor 1.x set needs {', '.join(missing)}")
    report: list[str] = []
    devices = _rows(folder / "device.csv", "device", report)
    variables = _rows(folder / "var.csv", "var", report)
    groups = _rows(folder / "group.csv", "group", report) if (folder / "group.csv").exists() else []
    alarms = _rows(folder / "warn.csv", "alarm", report) if (folder / "warn.csv").exists() else []
    export = {
        "controllers": [_controller(d) for d in devices],
        "measures": [{"name": v.get("name"), "ctrlName": v.get("device"), "group": v.get("group") or "default",
                      "addr": v.get("address"), "dataType": v.get("type"),
                      "readWrite": "rw" if "w" in (v.get("access") or "ro").lower() else "ro",
                      "unit": v.get("unit", ""), "desc": v.get("desc", ""), "decimal": v.get("decimal") or None}
                     for v in variables],
        "groups": [_group(g) for g in groups] or [{"name": name, "uploadInterval": 10} for name in
                                                  sorted({v.get("group") or "default" for v in variables})],
        "alarms": [_alarm(a) for a in alarms],
    }
    imported = import_cfg(export)
    imported.report[:0] = report
    return imported


def merge_csvs(folder: Path, config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Add the measures, groups and alarms of 2.x CSVs in ``folder`` to ``config`` (as data);
    rows naming an existing measure, group or alarm replace it. Raise GatewayError for bad rows."""
    report: list[str] = []
    merged = dict(config)
    if (folder / "measure.csv").exists():
        parsed = read_measures((folder / "measure.csv").read_text(encoding="utf-8-sig"))
        if parsed.errors:
            raise GatewayError("measure.csv: " + "; ".join(parsed.errors))
        merged["measures"] = _upsert(merged.get("measures") or [], parsed.measures,
                                     lambda m: (m["controller"], m["name"]))
    if (folder / "group.csv").exists():
        groups = [_our_group(g) for g in _rows(folder / "group.csv", "group", report)]
        merged["groups"] = _upsert(merged.get("groups") or [], groups, lambda g: g["name"])
    if (folder / "alarm.csv").exists():
        alarms = import_cfg({"controllers": [], "alarms": [_alarm(a) for a in
                                                           _rows(folder / "alarm.csv", "alarm", report)]})
        report += alarms.report
        merged["alarms"] = _upsert(merged.get("alarms") or [], alarms.config["alarms"], lambda a: a["name"])
    if not any((folder / name).exists() for name in ("measure.csv", "group.csv", "alarm.csv")):
        raise GatewayError(f"{folder}: no measure.csv, group.csv or alarm.csv")
    return merged, report


def _rows(path: Path, kind: str, report: list[str]) -> list[dict[str, str]]:
    aliases = _ALIASES[kind]
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns: dict[str, str] = {}
    for header in reader.fieldnames or []:
        key = re.sub(r"[\s_\-./()]", "", header or "").lower()
        field = next((f for f, names in aliases.items() if key in names), None)
        if field is None:
            report.append(f"{path.name}: column '{header}' is not understood; ignored")
        else:
            columns[header] = field
    return [{columns[h]: (v or "").strip() for h, v in row.items() if h in columns} for row in reader
            if any((v or "").strip() for v in row.values() if isinstance(v, str))]


def _controller(device: dict[str, str]) -> dict[str, Any]:
    endpoint = device.get("endpoint", "")
    if device.get("port") and ":" not in endpoint:
        endpoint = f"{endpoint}:{device['port']}"
    args: dict[str, Any] = {}
    if device.get("rack") or device.get("slot"):
        args = {"rack": int(device.get("rack") or 0), "slot": int(device.get("slot") or 1)}
    elif device.get("slave"):
        args = {"slave": int(device["slave"])}
    return {"name": device.get("name"), "protocol": device.get("protocol"), "endpoint": endpoint,
            "samplePeriod": float(device.get("period") or 1), "args": args}


def _group(group: dict[str, str]) -> dict[str, Any]:
    return {"name": group.get("name"), "uploadInterval": float(group.get("interval") or 10)}


def _our_group(group: dict[str, str]) -> dict[str, Any]:
    ours: dict[str, Any] = {"name": group.get("name", ""), "upload_interval": float(group.get("interval") or 10)}
    if (group.get("history") or "0").lower() in ("1", "true", "yes", "on"):
        ours["history"] = True
        if group.get("size"):
            ours["history_max_points"] = max(100, int(float(group["size"])))
    return ours


def _alarm(alarm: dict[str, str]) -> dict[str, Any]:
    def condition(op: str, value: str) -> dict[str, Any] | None:
        op = _OP_WORDS.get(op.strip(), op.strip().lower())
        return {"op": op, "value": value} if op and value else None

    return {"name": alarm.get("name"), "ctrlName": alarm.get("controller"), "measureName": alarm.get("measure"),
            "alarmLevel": int(alarm.get("level") or 1),
            "cond1": condition(alarm.get("op1", ""), alarm.get("value1", "")),
            "combineMethod": alarm.get("combine") or "none",
            "cond2": condition(alarm.get("op2", ""), alarm.get("value2", "")),
            "content": alarm.get("content", ""), "alarmLable": alarm.get("label") or "default"}


def _upsert(items: list[dict[str, Any]], new: list[dict[str, Any]],
            key: Callable[[dict[str, Any]], Any]) -> list[dict[str, Any]]:
    merged = {key(item): item for item in items}
    for item in new:
        merged[key(item)] = item
    return list(merged.values())

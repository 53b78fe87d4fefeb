"""``gateway export-ds``: Device Supervisor 2.x's measure.csv, group.csv and alarm.csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gateway.config import GatewayConfig
from gateway.config.save import write_atomically

from .measure_csv import write_measures

GROUP_COLUMNS = ("GroupName", "UploadInterval", "EnableHistory", "HistorySize")
ALARM_COLUMNS = ("AlarmName", "ControllerName", "MeasuringPointName", "AlarmLevel", "Condition1", "Operand1",
                 "CombineMethod", "Condition2", "Operand2", "AlarmContent", "AlarmTag")


def group_csv(model: GatewayConfig) -> str:
    """Return the groups as group.csv text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GROUP_COLUMNS)
    for g in model.groups:
        writer.writerow([g.name, f"{g.upload_interval:g}", int(g.history), g.history_max_points])
    return out.getvalue()


def alarm_csv(model: GatewayConfig) -> str:
    """Return the alarm rules as alarm.csv text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ALARM_COLUMNS)
    for a in model.alarms:
        controller = a.controller or next((m.controller for m in model.measures if m.name == a.measure), "")
        second = (a.cond2.op, f"{a.cond2.value:g}") if a.cond2 else ("", "")
        writer.writerow([a.name, controller, a.measure, a.level, a.cond1.op, f"{a.cond1.value:g}", a.combine,
                         *second, a.content, a.label])
    return out.getvalue()


def export_csvs(model: GatewayConfig, folder: Path) -> list[Path]:
    """Write measure.csv, group.csv and alarm.csv into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"measure.csv": write_measures(model.measures), "group.csv": group_csv(model),
             "alarm.csv": alarm_csv(model)}
    for name, text in files.items():
        write_atomically(folder / name, text, keep_backup=False)
    return [folder / name for name in files]

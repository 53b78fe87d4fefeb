"""The alarm dict a publish script receives when an alarm is raised or cleared (Device
Supervisor's shape, docs/design.md section 4); built in one place for the alarm engine and for a
test run of an alarm function."""

from __future__ import annotations

from typing import Any


def alarm_message(*, name: str, label: str, level: int, content: str, controller: str, measure: str,
                  active: bool, value: Any, raised_value: Any, now: float) -> dict[str, Any]:
    """Return ``{"timestamp", "group_name": label, "values": {name: {...}}}`` for one raise
    (``active``) or clear; ``raised_value`` is the value that raised it."""
    item = {"timestamp": int(now), "current": "on" if active else "off", "status": 0 if active else 1,
            "value": value, "alarm_content": content, "level": level, "ctrlName": controller,
            "measureName": measure, "alarm_value": raised_value}
    return {"timestamp": now, "group_name": label, "values": {name: item}}

"""What a script's ``quickfaas.config.set(config)`` (or ``wizard_api.update_group``) asks to change.

A script hands back the configuration it got from ``config.get()`` with some values changed. Of
that, scripts may change group upload intervals and the custom labels (Device Supervisor's
custom parameters); any other difference is refused with the field it concerns, so a script
never changes more than it is trusted with. The change itself is an edit of config.yaml that
goes through the same validation and rollback as the UI's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.core.errors import GatewayError

CHANGEABLE = "group upload intervals (groups[].uploadInterval) and labels"


@dataclass(frozen=True)
class ScriptConfigChange:
    """Group upload intervals by group name, and the gateway's labels as they are to be."""

    intervals: dict[str, float]
    labels: dict[str, str] | None

    def edit(self, document: Any) -> None:
        """Apply the change to config.yaml's parsed document."""
        for group in document.get("groups") or []:
            if group.get("name") in self.intervals:
                group["upload_interval"] = self.intervals[group["name"]]
        if self.labels is not None:
            gateway = document.get("gateway")
            if gateway is None:
                gateway = document["gateway"] = {}
            gateway["labels"] = dict(self.labels)


def requested_change(current: Mapping[str, Any], wanted: Any, user_labels: Mapping[str, str]) -> ScriptConfigChange:
    """Compare ``wanted`` with ``current`` (both in config.get()'s shape); return what changes, or
    raise GatewayError naming the first field a script may not change. Sections ``wanted`` leaves
    out are left as they are."""
    if not isinstance(wanted, Mapping):
        raise GatewayError("config.set takes the dict config.get() returned, with your changes")
    for key, value in wanted.items():
        if key not in ("groups", "labels") and value != current.get(key):
            raise GatewayError(f"config.set: '{key}' cannot be changed by a script; scripts change {CHANGEABLE}")
    intervals = _intervals(current.get("groups", []), wanted.get("groups"))
    labels = _labels(current.get("labels", []), wanted.get("labels"), user_labels)
    return ScriptConfigChange(intervals, labels)


def group_change(current: Mapping[str, Any], group_data: Any) -> dict[str, Any]:
    """Return the ``groups`` that ``update_group({"group_name", "upload_interval"})`` asks for."""
    if not (isinstance(group_data, Mapping) and isinstance(group_data.get("group_name"), str)):
        raise GatewayError('update_group takes {"group_name": ..., "upload_interval": ...}')
    groups = [dict(g) for g in current.get("groups", [])]
    group = next((g for g in groups if g["name"] == group_data["group_name"]), None)
    if group is None:
        raise GatewayError(f"update_group: no group '{group_data['group_name']}'")
    group["uploadInterval"] = group_data.get("upload_interval", group["uploadInterval"])
    return {"groups": groups}


def _intervals(current: list[dict[str, Any]], wanted: Any) -> dict[str, float]:
    if wanted is None:
        return {}
    by_name = {g["name"]: g for g in current}
    if not isinstance(wanted, list) or {g.get("name") for g in wanted if isinstance(g, Mapping)} != set(by_name):
        raise GatewayError("config.set: groups cannot be added or removed by a script, only their uploadInterval set")
    intervals = {}
    for group in wanted:
        before = by_name[group["name"]]
        if any(group.get(k) != v for k, v in before.items() if k != "uploadInterval") or set(group) - set(before):
            raise GatewayError(f"config.set: of group '{group['name']}' a script changes only uploadInterval")
        interval = group.get("uploadInterval")
        if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0 < interval <= 86_400:
            raise GatewayError(f"config.set: group '{group['name']}': uploadInterval is a number of seconds "
                               "above 0 and at most a day")
        if interval != before["uploadInterval"]:
            intervals[group["name"]] = float(interval)
    return intervals


def _labels(current: list[dict[str, Any]], wanted: Any, user_labels: Mapping[str, str]) -> dict[str, str] | None:
    """The user's labels as ``wanted`` sets them; the gateway's own parameters (SN, MAC...) stay."""
    if wanted is None:
        return None
    if not isinstance(wanted, list) or not all(isinstance(item, Mapping) and isinstance(item.get("key"), str)
                                               and isinstance(item.get("value"), str | int | float) for item in wanted):
        raise GatewayError('config.set: labels are [{"key": ..., "value": ...}]')
    own = {item["key"]: item["value"] for item in current if item["key"] not in user_labels}
    asked = {item["key"]: str(item["value"]) for item in wanted}
    for key, value in own.items():
        if key in asked and asked[key] != str(value):
            raise GatewayError(f"config.set: label '{key}' is the gateway's own and cannot be changed")
    labels = {key: value for key, value in asked.items() if key not in own}
    return None if labels == dict(user_labels) else labels


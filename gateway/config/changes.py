"""What a configuration change touches, so that a change to one controller restarts only its poller,
and what it changed, in words for the audit log."""

from __future__ import annotations

from typing import Any

from .schema import GatewayConfig


def changed_controllers(old: GatewayConfig, new: GatewayConfig) -> list[str] | None:
    """Return the names of the controllers whose settings are all that differs between ``old`` and
    ``new``; None when anything else differs (a measure, a group, a controller added, removed,
    renamed or moved) or nothing does, which the whole gateway has to take up."""
    if len(old.controllers) != len(new.controllers):
        return None
    changed = []
    for before, after in zip(old.controllers, new.controllers, strict=True):
        if before.name != after.name:
            return None
        if before != after:
            changed.append(after.name)
    if not changed:
        return None
    for field in type(new).model_fields:
        if field != "controllers" and getattr(old, field) != getattr(new, field):
            return None
    return changed


def describe_change(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    """Say what differs between ``old`` and ``new`` for the audit log, one line per section:
    items added, removed and changed (with the fields that changed), by name; never a value, so
    a changed password is named and not shown."""
    said = []
    for section in type(new).model_fields:
        before, after = getattr(old, section), getattr(new, section)
        if before == after:
            continue
        if isinstance(after, list):
            said.append(f"{section}: {_list_change(before, after)}")
        elif isinstance(after, dict):
            said.append(f"{section}: {_list_change(sorted(before.items()), sorted(after.items()))}")
        else:
            said.append(f"{section}: {', '.join(_fields_changed(before, after))} changed")
    return said


_SHOWN = 5  # names listed per kind of change; the rest are counted


def _list_change(before: list[Any], after: list[Any]) -> str:
    old, new = {_key(item): item for item in before}, {_key(item): item for item in after}
    added = [key for key in new if key not in old]
    removed = [key for key in old if key not in new]
    changed = [f"{key} ({', '.join(_fields_changed(old[key], new[key]))})" for key in new
               if key in old and old[key] != new[key]]
    parts = [f"{what} {_names(keys)}" for what, keys in (("added", added), ("removed", removed), ("changed", changed))
             if keys]
    return "; ".join(parts) or "reordered"


def _key(item: Any) -> str:
    if isinstance(item, tuple):  # a (key, settings) pair of a dict section
        return str(item[0])
    name = str(getattr(item, "name", "?"))
    controller = getattr(item, "controller", None)
    return f"{controller}.{name}" if isinstance(controller, str) else name


def _fields_changed(before: Any, after: Any) -> list[str]:
    if isinstance(after, tuple):
        before, after = before[1], after[1]
    fields = getattr(type(after), "__pydantic_fields__", None)  # a model, or a pydantic dataclass (measures)
    if fields is not None and type(before) is type(after):
        return [field for field in fields if getattr(before, field) != getattr(after, field)]
    if isinstance(after, dict) and isinstance(before, dict):
        return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    return ["value"]


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")

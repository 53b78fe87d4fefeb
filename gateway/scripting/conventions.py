"""How each kind of script function is called: Device Supervisor has several conventions, told
apart by the *names* of the function's parameters (as Device Supervisor itself tells them
apart), and scripts written for any of them run unchanged.

Publish entries (group uploads and alarm uploads):
- A parameter named ``wizard_api`` (``main(message, wizard_api)``, ``main(message, wizard_api,
  cloudName)``): the nested message, ``data_collect`` of docs/design.md section 4 (alarms: the
  alarm dict).
- No such parameter (``main(message)``, ``main(message, cloudName)``, ``main(message,
  userdata)``): the flat message, :func:`flat_group_message` (alarms: :func:`alarm_event`).
- Every parameter after the message other than the API receives the rule's cloud name.
- This gateway's own earlier examples named the API parameter ``api``; that name still receives
  the API (Device Supervisor would pass a cloud name to it, which no such script expects).

Subscribe entries take ``(topic, payload[, wizard_api])``, callbacks ``(result, userdata[,
wizard_api])`` and custom functions ``()``, ``(message)`` or ``(wizard_api)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

API_NAMES = frozenset(("wizard_api", "api"))


def positional_count(function: Callable[..., Any]) -> int:
    """Return how many positional parameters a script function takes (its calling convention)."""
    return len(parameter_names(function))


def entry_arguments(kind: str, function: Callable[..., Any], arguments: list[Any], api: Any,
                    cloud: str) -> tuple[Any, ...]:
    """Return the arguments to call ``function`` with for a ``kind`` call carrying ``arguments``."""
    names = parameter_names(function)
    if kind == "publish":
        message = arguments[0]
        if not API_NAMES.intersection(names[1:]):
            message = flat_message(message)
        return (message, *(api if name in API_NAMES else cloud for name in names[1:]))
    if kind == "function":
        if not names:
            return ()
        return (api,) if names[0] in API_NAMES else (arguments[0] if arguments else None,)
    return (*arguments, api) if len(names) >= 3 else tuple(arguments)


def flat_message(data_collect: dict[str, Any]) -> dict[str, Any]:
    """Return the message a publish entry without ``wizard_api`` receives for ``data_collect``:
    a group's readings flat, or an alarm as Device Supervisor's event bus announces it."""
    values = data_collect.get("values", {})
    first = next((item for item in values.values() if isinstance(item, dict)), None)
    if first is not None and isinstance(first.get("current"), str):  # a measure named current holds a dict
        return alarm_event(data_collect)
    return flat_group_message(data_collect)


def flat_group_message(data_collect: dict[str, Any]) -> dict[str, Any]:
    """Device Supervisor 2.x's flat message of a group upload: ``{"timestamp", "timestampMsec",
    "group", "measures": [{"ctrlName", "name", "health", "timestamp", "timestampMsec", "value"}]}``."""
    return {
        "timestamp": data_collect.get("timestamp"),
        "timestampMsec": data_collect.get("timestampMsec"),
        "group": data_collect.get("group_name"),
        "measures": [{"ctrlName": controller, "name": name, "health": reading.get("status"),
                      "timestamp": reading.get("timestamp"), "timestampMsec": reading.get("timestampMsec"),
                      "value": reading.get("raw_data")}
                     for controller, measures in data_collect.get("values", {}).items()
                     for name, reading in measures.items()],
    }


def alarm_event(alarm: dict[str, Any]) -> dict[str, Any]:
    """Device Supervisor 2.x's event bus form of an alarm upload: ``{"name", "ctrlName",
    "measureName", "priority", "timestamp", "timestampMsec", "status": 1 raised | 0 cleared,
    "value", "alarm_value", "content"}``. Its ``status`` means the opposite of the nested form's."""
    name, item = next(iter(alarm["values"].items()))
    timestamp = alarm.get("timestamp") or item.get("timestamp") or 0
    return {"name": name, "ctrlName": item.get("ctrlName"), "measureName": item.get("measureName"),
            "priority": item.get("level"), "timestamp": int(timestamp), "timestampMsec": int(timestamp * 1000),
            "status": 1 if item.get("current") == "on" else 0, "value": item.get("value"),
            "alarm_value": item.get("alarm_value", item.get("value")), "content": item.get("alarm_content")}


def parameter_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """Return the names of a script function's positional parameters."""
    code = getattr(function, "__code__", None)
    return tuple(code.co_varnames[:code.co_argcount]) if code is not None else ()

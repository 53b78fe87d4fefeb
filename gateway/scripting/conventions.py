"""How each kind of script function is called: Device Supervisor has several conventions, told
apart by the function's parameters, and scripts written for any of them run unchanged.

Publish entries:
- ``main(data_collect, wizard_api)``: Device Supervisor 1.x; ``data_collect`` as in docs/design.md §4.
- ``main(message, wizard_api, cloudName)``: Device Supervisor 2.x, same ``data_collect``.
- ``main(message)`` or ``main(message, userdata)``: Device Supervisor 2.x without wizard_api; the
  message lists the group's readings flat (:func:`measures_message`), ``userdata`` is None, and a
  returned value is published to the rule's topic.

Subscribe entries take ``(topic, payload[, wizard_api])``, callbacks ``(result, tail[, wizard_api])``
and custom functions ``([wizard_api])``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def positional_count(function: Callable[..., Any]) -> int:
    """Return how many positional parameters a script function takes (its calling convention)."""
    code = getattr(function, "__code__", None)
    return int(code.co_argcount) if code is not None else 0


def entry_arguments(kind: str, function: Callable[..., Any], arguments: list[Any], api: Any,
                    cloud: str) -> tuple[Any, ...]:
    """Return the arguments to call ``function`` with for a ``kind`` call carrying ``arguments``."""
    count = positional_count(function)
    if kind == "publish":
        if count >= 3:
            return (*arguments, api, cloud)
        if count == 1 or (count == 2 and _parameter_names(function)[1] == "userdata"):
            message = measures_message(arguments[0])
            return (message,) if count == 1 else (message, None)
        return (*arguments, api)
    if kind == "function":
        return (api,) if count >= 1 else ()
    return (*arguments, api) if count >= 3 else tuple(arguments)


def measures_message(data_collect: dict[str, Any]) -> dict[str, Any]:
    """Device Supervisor 2.x's flat message of a group upload:

    ``{"timestamp", "group_name", "measures": [{"ctrlName", "name", "value", "timestamp", "status"}]}``

    An alarm dict (its entries carry no ``raw_data``) is passed unchanged.
    """
    values = data_collect.get("values", {})
    readings = [(controller, name, reading) for controller, measures in values.items()
                for name, reading in measures.items()]
    if any("raw_data" not in reading for _, _, reading in readings):
        return data_collect
    return {
        "timestamp": data_collect.get("timestamp"),
        "group_name": data_collect.get("group_name"),
        "measures": [{"ctrlName": controller, "name": name, "value": reading["raw_data"],
                      "timestamp": reading.get("timestamp"), "status": reading.get("status")}
                     for controller, name, reading in readings],
    }


def _parameter_names(function: Callable[..., Any]) -> tuple[str, ...]:
    code = function.__code__
    return tuple(code.co_varnames[:code.co_argcount])

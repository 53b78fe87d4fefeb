"""What an IoTgo server checks of a device, checked here first so that `gateway check` says it
rather than the server answering 400 or never pushing.

The server's rules (ITEAD's IoTgo, ``db/*device.js`` and ``protocol/types.js``):

- A deviceid is the device type (2 hex digits) and 8 hex digits. Factory devices take the upper
  half of that space (the third digit 8 or above); devices made in the app (DIY) the lower half.
  The server pushes an app's change only to a factory-range id; a DIY device must ``query``.
- Types 01 (switch) and 02 (light) take an update only with ``switch``/``light`` "on" or "off"
  (a BIT measure is sent as "on"/"off" and written from them; a value map may give them too);
  type 03 (temperature and humidity sensor) only with numeric ``temperature`` and ``humidity``.
  Other types take any params.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.southbound import DataType

from .schema import Measure

_ON_OFF = frozenset({"on", "off"})


@dataclass(frozen=True)
class DeviceType:
    """The params every update of a device type must carry, and what their values must be."""

    name: str
    required: tuple[str, ...]
    on_off: bool  # the values are "on"/"off"; otherwise numbers


DEVICE_TYPES = {
    "01": DeviceType("switch", ("switch",), on_off=True),
    "02": DeviceType("light", ("light",), on_off=True),
    "03": DeviceType("temperature and humidity sensor", ("temperature", "humidity"), on_off=False),
}


def is_factory_id(deviceid: str) -> bool:
    """Return True for an id in the factory range, the only one the server pushes to."""
    return int(deviceid[2], 16) >= 8


def device_type(deviceid: str) -> DeviceType | None:
    """Return the checked type of ``deviceid`` (its first two digits), None for the unchecked ones."""
    return DEVICE_TYPES.get(deviceid[:2])


def id_problem(deviceid: str, factory: bool) -> str | None:
    """Return why a factory device's id cannot be one, or None."""
    if factory and not is_factory_id(deviceid):
        return (f"{deviceid} cannot be a factory device: factory ids are the type and 8 hex digits from 80000000 "
                f"(e.g. {deviceid[:2]}80000001), and the server never pushes to an id below that")
    return None


def type_problems(deviceid: str, measures: Sequence[Measure]) -> list[str]:
    """Return why the measures of a device of a checked type could not make an update its server takes."""
    kind = device_type(deviceid)
    if kind is None:
        return []
    by_name = {m.name: m for m in measures}
    problems = []
    for param in kind.required:
        measure = by_name.get(param)
        if measure is None:
            problems.append(f"a device of type {deviceid[:2]} ({kind.name}) must carry a measure named '{param}': "
                            f"the server refuses its updates without it")
        elif kind.on_off and not _gives_on_off(measure):
            problems.append(f"'{param}' of a type {deviceid[:2]} device must read \"on\" or \"off\": make it a BIT "
                            "or BOOL (sent as on/off), or map its values: transform {kind: value_map, map: "
                            "{0: 'off', 1: 'on'}}")
        elif not kind.on_off and not _gives_numbers(measure):
            problems.append(f"'{param}' of a type {deviceid[:2]} device must be a number: not a STRING, "
                            "not a value map")
    return problems


def on_off_params(deviceid: str, measures: Sequence[Measure]) -> frozenset[str]:
    """The params of ``deviceid`` sent as "on"/"off" for a BIT's true/false: a bare BIT ``switch``
    or ``light`` (decided once per device, not per reading)."""
    return frozenset(m.name for m in measures if _is_bare_switch(deviceid, m))


def plc_request(deviceid: str, measures: Mapping[str, Measure], params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The write of an app's ``params`` to the device's ``measures`` (each param a measure's name),
    as ``{controller: {measure: value}}`` for the PLC writer: "on"/"off" to a bare BIT
    ``switch``/``light`` is 1/0, anything else goes to the write checks as it came."""
    request: dict[str, dict[str, Any]] = {}
    for name, value in params.items():
        measure = measures[name]
        if value in _ON_OFF and _is_bare_switch(deviceid, measure):
            value = int(value == "on")
        request.setdefault(measure.controller, {})[name] = value
    return request


def _is_bare_switch(deviceid: str, measure: Measure) -> bool:
    kind = device_type(deviceid)
    return (kind is not None and kind.on_off and measure.name in kind.required and measure.type.is_bit
            and measure.transform is None)


def _gives_on_off(measure: Measure) -> bool:
    transform = measure.transform
    if transform is None:
        return measure.type.is_bit
    return transform.kind == "value_map" and set(transform.map.values()) <= _ON_OFF


def _gives_numbers(measure: Measure) -> bool:
    return measure.type is not DataType.STRING and (measure.transform is None or measure.transform.kind != "value_map")

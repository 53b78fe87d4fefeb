"""Apply ``write_plc_values`` requests through the pollers, one result per value.

``{"SP1": 1.5}`` names a measure anywhere (it must be unique), ``{"PLC1": {"SP1": 1.5}}`` names
it on one controller. Unknown and read-only measures are refused per value; the others are
written between polls on their controller's connection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.config import Measure
from gateway.errors import DriverError

from .poller import ControllerPoller

log = logging.getLogger("gateway.collect")


class PlcWriter:
    """Resolves measure names and writes through the owning poller."""

    def __init__(self, pollers: Sequence[ControllerPoller], measures: Sequence[Measure]) -> None:
        self._pollers = {p.name: p for p in pollers}
        self._by_name: dict[str, Measure] = {}  # a name on one controller: no list per measure
        self._shared: dict[str, list[Measure]] = {}  # a name on several controllers
        for measure in measures:
            first = self._by_name.setdefault(measure.name, measure)
            if first is not measure:
                self._shared.setdefault(measure.name, [first]).append(measure)

    def use(self, poller: ControllerPoller) -> None:
        """Write to ``poller``'s controller through ``poller`` from now on (it replaced the old one)."""
        self._pollers[poller.name] = poller

    async def apply(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Write every value of ``request``; return Device Supervisor's result list."""
        results = []
        for key, value in request.items():
            if isinstance(value, Mapping):
                for name, inner in value.items():
                    results.append(await self._write_one(str(key), str(name), inner))
            else:
                results.append(await self._write_one(None, str(key), value))
        return results

    async def _write_one(self, controller: str | None, name: str, value: Any) -> dict[str, Any]:
        named = self._shared.get(name) or ([self._by_name[name]] if name in self._by_name else [])
        candidates = [m for m in named if controller in (None, m.controller)]
        device = controller or (candidates[0].controller if len(candidates) == 1 else "")
        result = {"value": value, "device": device, "var_name": name, "result": "Failed", "error": ""}
        if not candidates:
            where = f" on controller '{controller}'" if controller else ""
            result["error"] = f"unknown measure '{name}'{where}"
        elif len(candidates) > 1:
            result["error"] = f"'{name}' exists on several controllers; write {{controller: {{{name}: value}}}}"
        elif candidates[0].access != "rw":
            result["error"] = f"'{name}' is read-only (access: ro)"
        elif (poller := self._pollers.get(device)) is None:
            result["error"] = f"controller '{device}' is not polled"
        else:
            try:
                await poller.write(name, value)
                result["result"] = "OK"
            except (DriverError, ValueError, TypeError) as exc:
                result["error"] = str(exc)
        if result["error"]:
            log.warning("write %s.%s = %r refused: %s", device or "?", name, value, result["error"])
        return result

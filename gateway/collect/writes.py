"""Apply ``write_plc_values`` requests through the pollers, one result per value.

``{"SP1": 1.5}`` names a measure anywhere (it must be unique), ``{"PLC1": {"SP1": 1.5}}`` names
it on one controller. Unknown and read-only measures are refused per value; the others are
written between polls on their controller's connection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.core.audit import WRITE, AuditTrail
from gateway.core.errors import DriverError

from .poller import ControllerPoller

log = logging.getLogger("gateway.collect")


class PlcWriter:
    """Resolves measure names and writes through the owning poller.

    A name is looked up in each poller's own index of its measures (every measure's controller
    has a poller): a few dict lookups per written value instead of an index of its own, which
    would take some 80 bytes per measure for the gateway's whole life."""

    def __init__(self, pollers: Sequence[ControllerPoller], audit: AuditTrail | None = None) -> None:
        self._pollers = {p.name: p for p in pollers}
        self._audit = audit

    def on_behalf_of(self, actor: str) -> AttributedWriter:
        """A writer whose every write the audit log puts down to ``actor`` (a cloud, a service)."""
        return AttributedWriter(self, actor)

    def use(self, poller: ControllerPoller) -> None:
        """Write to ``poller``'s controller through ``poller`` from now on (it replaced the old one)."""
        self._pollers[poller.name] = poller

    async def apply(self, request: Mapping[str, Any], by: str = "a script") -> list[dict[str, Any]]:
        """Write every value of ``request`` for ``by`` (who the audit log names); return Device
        Supervisor's result list."""
        results = []
        for key, value in request.items():
            if isinstance(value, Mapping):
                for name, inner in value.items():
                    results.append(await self._write_one(str(key), str(name), inner, by))
            else:
                results.append(await self._write_one(None, str(key), value, by))
        return results

    async def _write_one(self, controller: str | None, name: str, value: Any, by: str) -> dict[str, Any]:
        owners = self._pollers.values() if controller is None else [p for p in [self._pollers.get(controller)] if p]
        candidates = [(poller, measure) for poller in owners if (measure := poller.measures.get(name)) is not None]
        device = controller or (candidates[0][0].name if len(candidates) == 1 else "")
        result = {"value": value, "device": device, "var_name": name, "result": "Failed", "error": ""}
        if not candidates:
            where = f" on controller '{controller}'" if controller else ""
            result["error"] = f"unknown measure '{name}'{where}"
        elif len(candidates) > 1:
            result["error"] = f"'{name}' exists on several controllers; write {{controller: {{{name}: value}}}}"
        else:
            poller = candidates[0][0]
            before = poller.latest.get(poller.name, name).value
            if candidates[0][1].access != "rw":
                result["error"] = f"'{name}' is read-only (access: ro)"
            else:
                try:
                    await poller.write(name, value)
                    result["result"] = "OK"
                except (DriverError, ValueError, TypeError) as exc:
                    result["error"] = str(exc)
            if self._audit is not None:  # a name that is no measure or several is not audited: no PLC is named
                outcome = f"{before!r} -> {value!r}" if not result["error"] else f"{value!r} refused: {result['error']}"
                self._audit.record(by, WRITE, f"{device}.{name}", outcome)
        if result["error"]:
            log.warning("write %s.%s = %r refused: %s", device or "?", name, value, result["error"])
        return result


class AttributedWriter:
    """:class:`PlcWriter` for one actor: what a cloud connector or a data service writes through."""

    def __init__(self, writer: PlcWriter, actor: str) -> None:
        self._writer, self.actor = writer, actor

    async def apply(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Write every value of ``request`` (see :meth:`PlcWriter.apply`)."""
        return await self._writer.apply(request, by=self.actor)

"""The gateway as an OPC UA server (``services.opcua_server``): every measure is a variable under
Objects / <gateway> / <controller>, with its data type, engineering unit and description; its
value, status (Good, Uncertain, Bad) and source timestamp follow the readings as the pollers
record them, so a client's subscription sees each change. A client's write to an ``rw`` measure
goes to the PLC through the write checks and is answered once the PLC took it (Bad otherwise).

asyncua is imported only when the service runs (:mod:`.server_space`): checking a configuration
that has the service does not pay for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.core.errors import Problem
from gateway.services.access import DataAccess
from gateway.services.contract import DataService, ServedMeasure

from .served import node_text, variant_of
from .server_settings import OpcUaServerSettings


class OpcUaServerService(DataService):
    """Serves the measures until cancelled; the address space is built at start."""

    name = "opcua_server"
    title = "OPC UA server"
    settings_model = OpcUaServerSettings

    def __init__(self, settings: OpcUaServerSettings, measures: Sequence[ServedMeasure], access: DataAccess) -> None:
        self.config, self.measures, self.access = settings, list(measures), access
        self.state = "starting"
        self.counters = {"changes": 0, "writes": 0, "refused_writes": 0, "subscriptions": 0}
        self.last_error = ""
        self.space: Any = None  # the running address space (server_space._Space), for the benchmark

    @classmethod
    def check(cls, settings: OpcUaServerSettings, measures: Sequence[ServedMeasure]) -> list[Problem]:
        """Nothing to check against the measures: every one is served."""
        return []

    @classmethod
    def describe(cls, settings: OpcUaServerSettings, measures: Sequence[ServedMeasure]) -> list[dict[str, Any]]:
        """Return each measure's NodeId, OPC UA type and access."""
        return [{"controller": m.controller, "measure": m.name, "address": node_text(settings, m),
                 "type": variant_of(m), "access": "rw" if m.writable else "ro"} for m in measures]

    async def run(self) -> None:
        """Build the address space, listen, and push every change until cancelled."""
        from .server_space import serve  # asyncua, and its 50 MiB standard address space

        await serve(self)

    def status(self) -> dict[str, Any]:
        """Return the state and counters for the overview and ``/metrics``."""
        return {"state": self.state, **self.counters, "last_error": self.last_error,
                "clients": self.counters["subscriptions"], "requests": self.counters["changes"],
                "exceptions": self.counters["refused_writes"], "mapped": len(self.measures)}

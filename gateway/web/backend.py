"""The one interface the web layer has to the gateway.

Routes, the live view and ``/metrics`` see an :class:`AdminBackend` and nothing else: frozen status,
the stores to query, a write, and a configuration change. ``GatewayService`` is the implementation;
a test or another front end can hand in any object of this shape.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from gateway.config import Cloud, Controller, LoadedConfig
from gateway.runtime.log_tail import LogTail
from gateway.runtime.passwords import PasswordStore
from gateway.runtime.script_logs import ScriptLogs
from gateway.runtime.status import GatewayStatus, LiveData
from gateway.store.audit_log import AuditLog

T = TypeVar("T")


class AdminBackend(Protocol):
    """What the admin UI reads and asks of the gateway."""

    @property
    def config(self) -> LoadedConfig:
        """The configuration in force (the saved file)."""

    @property
    def started_at(self) -> float:
        """When the service started (time.time())."""

    @property
    def data_dir(self) -> Path:
        """Where the gateway keeps its state (uploads are staged there)."""

    @property
    def passwords(self) -> PasswordStore:
        """The administrator's password and setup code."""

    @property
    def log_tail(self) -> LogTail:
        """The last lines of the gateway's log."""

    @property
    def script_logs(self) -> ScriptLogs:
        """Each script's own log."""

    def status(self) -> GatewayStatus | None:
        """What the running gateway says now; None while it starts or restarts."""

    def live_data(self) -> LiveData | None:
        """The running gateway's configuration, latest values and stores; None while it starts."""

    @property
    def audit(self) -> AuditLog | None:
        """Who wrote what to the PLCs, logged in and changed the configuration (None before the
        service runs)."""

    async def write_value(self, controller: str, measure: str, value: Any, by: str) -> dict[str, Any] | None:
        """Write one value to a PLC for ``by`` (the audit log's actor); its result, or None while
        the gateway starts."""

    async def test_connection(self, item: Controller | Cloud) -> str:
        """Connect once with a controller's or a cloud's unsaved settings; say what happened or
        raise GatewayError saying why not."""

    async def change(self, edit: Callable[[], T], by: str = ..., how: str = ...,
                     action: str = ...) -> tuple[T, LoadedConfig]:
        """Validate and save a change with ``edit`` and run the gateway on it; the audit log puts
        ``action`` down to ``by``, described as ``how`` and what changed."""

"""The overview: controllers, clouds, the outbox, scripts, active alarms, the machine (CPU,
memory, disk, clock, addresses), uptime and version."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gateway import __version__

from .api import Api
from .context import MACHINE, backend_of


def register(api: Api) -> None:
    """Add the status endpoint."""
    api.route("GET", "/status", "Health of controllers, clouds, outbox, scripts and the machine", "status")(status)


async def status(request: web.Request, _body: None) -> dict[str, Any]:
    backend = backend_of(request)
    now = backend.status()
    overview: dict[str, Any] = {
        "version": __version__, "name": backend.config.model.gateway.name,
        "uptime": time.time() - backend.started_at, "running": now is not None,
        "machine": request.app[MACHINE].read(), "alarms_active": 0,
        "controllers": [], "clouds": [], "outbox": None, "scripts": [], "services": [],
    }
    if now is None:
        return overview
    overview["alarms_active"] = now.alarms_active
    overview["controllers"] = [
        {"name": c.name, "protocol": c.protocol, "endpoint": c.endpoint, "healthy": c.healthy,
         "degraded": c.degraded, "last_error": c.last_error, "last_success": c.last_success or None,
         "measures": c.measures, "cycles": c.cycles, "failed_cycles": c.failed_cycles}
        for c in now.controllers]
    overview["clouds"] = [
        {"name": c.name, "type": c.type, "host": c.host, "connected": c.connected, "last_failure": c.last_error,
         "since": c.since or None, "delivered": c.delivered, "connection_failures": c.connection_failures,
         "dropped": c.dropped, "waiting": list(c.waiting)}
        for c in now.clouds]
    if now.outbox is not None:
        overview["outbox"] = {"depth": now.outbox.depth, "evicted": now.outbox.evicted}
    overview["scripts"] = [{"name": s.name, "faulted": s.problem, "resumes_at": s.resumes_at,
                            "bad_messages": s.bad_messages, "calls": s.calls, "failed_calls": s.failed_calls}
                           for s in now.scripts.values()]
    overview["failed_parts"] = dict(now.failed_parts)
    overview["services"] = [{"name": name, **state} for name, state in now.services.items()]
    return overview

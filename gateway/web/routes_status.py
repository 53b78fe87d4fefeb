"""The overview: controllers, clouds, the outbox, scripts, uptime and version."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gateway import __version__

from .api import Api
from .context import service_of


def register(api: Api) -> None:
    """Add the status endpoint."""
    api.route("GET", "/status", "Health of controllers, clouds, outbox and scripts", "status")(status)


async def status(request: web.Request, _body: None) -> dict[str, Any]:
    service = service_of(request)
    gateway = service.gateway
    overview: dict[str, Any] = {
        "version": __version__, "name": service.config.model.gateway.name,
        "uptime": time.time() - service.started_at, "running": gateway is not None,
        "controllers": [], "clouds": [], "outbox": None, "scripts": [],
    }
    if gateway is None:
        return overview
    overview["controllers"] = [
        {"name": p.name, "protocol": p.controller.protocol, "endpoint": p.controller.endpoint,
         "healthy": p.health.healthy, "degraded": p.health.degraded, "last_error": p.health.last_error,
         "last_success": p.health.last_success or None, "measures": len(p.measures)}
        for p in gateway.pollers]
    overview["clouds"] = [
        {"name": name, "type": c.cloud.type, "host": c.cloud.host, "connected": c.state.connected,
         "last_failure": c.state.last_error, "since": c.state.since or None, "delivered": c.state.delivered}
        for name, c in gateway.connectors.items()]
    if gateway.outbox is not None:
        overview["outbox"] = {"depth": gateway.outbox.depth, "evicted": gateway.outbox.evicted}
    runner = gateway.runner
    overview["scripts"] = [{"name": name, "faulted": runner.faulted.get(name) or runner.load_error(name),
                            "resumes_at": runner.resumes_at.get(name) if name in runner.faulted else None,
                            "bad_messages": runner.input_errors.get(name, 0)}
                           for name in runner.script_names]
    overview["failed_parts"] = dict(gateway.part_failures)
    return overview

"""What the web handlers reach through the aiohttp application: the backend and the auth state."""

from __future__ import annotations

from aiohttp import web

from gateway.runtime.machine import MachineWatch
from gateway.runtime.status import LiveData

from .api import ApiError
from .auth import LoginLimiter, Sessions
from .backend import AdminBackend
from .tls import WebTls

BACKEND: web.AppKey[AdminBackend] = web.AppKey("backend")
SESSIONS = web.AppKey("sessions", Sessions)
LIMITER = web.AppKey("limiter", LoginLimiter)
MACHINE = web.AppKey("machine", MachineWatch)  # the CPU load is measured between two reads
TLS = web.AppKey("tls", WebTls)  # when the UI is served over HTTPS
STARTING = "the gateway is starting; try again in a moment"


def backend_of(request: web.Request) -> AdminBackend:
    """Return the gateway behind the web server."""
    return request.app[BACKEND]


def running(request: web.Request) -> LiveData:
    """Return the running gateway's data, or answer 503 while it starts or restarts."""
    data = backend_of(request).live_data()
    if data is None:
        raise ApiError(503, STARTING)
    return data


def client_address(request: web.Request) -> str:
    """Return the client's address for the login rate limit."""
    return request.remote or "unknown"


def actor(request: web.Request) -> str:
    """Who the audit log says did what this request does: the one administrator, and from where."""
    return f"admin at {client_address(request)}"


def audit(request: web.Request, action: str, subject: str, detail: str = "") -> None:
    """Put what this request did into the audit log (kept from the service's start)."""
    trail = backend_of(request).audit
    if trail is not None:
        trail.record(actor(request), action, subject, detail)

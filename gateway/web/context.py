"""What the web handlers reach through the aiohttp application: the backend and the auth state."""

from __future__ import annotations

from aiohttp import web

from gateway.runtime.status import LiveData

from .api import ApiError
from .auth import LoginLimiter, Sessions
from .backend import AdminBackend

BACKEND: web.AppKey[AdminBackend] = web.AppKey("backend")
SESSIONS = web.AppKey("sessions", Sessions)
LIMITER = web.AppKey("limiter", LoginLimiter)
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

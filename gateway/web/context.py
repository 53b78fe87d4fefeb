"""What the web handlers reach through the aiohttp application: the service and the auth state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .api import ApiError
from .auth import LoginLimiter, Sessions

if TYPE_CHECKING:
    from gateway.runtime.app import Gateway
    from gateway.runtime.service import GatewayService

SERVICE: web.AppKey[GatewayService] = web.AppKey("service")
SESSIONS = web.AppKey("sessions", Sessions)
LIMITER = web.AppKey("limiter", LoginLimiter)


def service_of(request: web.Request) -> GatewayService:
    """Return the gateway service behind the web server."""
    return request.app[SERVICE]


def running_gateway(request: web.Request) -> Gateway:
    """Return the running gateway, or answer 503 while it restarts."""
    gateway = service_of(request).gateway
    if gateway is None:
        raise ApiError(503, "the gateway is starting; try again in a moment")
    return gateway


def client_address(request: web.Request) -> str:
    """Return the client's address for the login rate limit."""
    return request.remote or "unknown"

"""The web server's middlewares: security headers on every answer, a session for every API
route but the public ones, and a CSRF token on every change.

The session cookie is HttpOnly and SameSite=Strict; state-changing requests also carry the
session's CSRF token in ``X-CSRF-Token``; public posts (login, setup) must be JSON, which a
cross-site form cannot send without the browser asking first.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from .api import PREFIX, Api
from .auth import Session, Sessions

log = logging.getLogger("gateway.web")

COOKIE = "gw_session"
SESSION_KEY = web.RequestKey("session", Session)  # the request's session, set by require_session
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
Next = Callable[[web.Request], Awaitable[web.StreamResponse]]


def security_headers() -> Middleware:
    """Add the security headers to every answer, errors included; API answers are never cached."""
    @web.middleware
    async def middleware(request: web.Request, handler: Next) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        response.headers.update(HEADERS)
        if request.path.startswith(PREFIX):
            response.headers["Cache-Control"] = "no-store"
        if isinstance(response, web.HTTPException):
            raise response
        return response
    return middleware


def require_session(api: Api, sessions: Sessions) -> Middleware:
    """Refuse API and WebSocket requests without a live session (401) or, for changes, without
    the session's CSRF token (403). Public endpoints pass, but must send JSON when they post."""
    @web.middleware
    async def middleware(request: web.Request, handler: Next) -> web.StreamResponse:
        if not (request.path.startswith(PREFIX) or request.path == "/ws"):
            return await handler(request)
        endpoint = api.endpoint_of(request)
        if endpoint is not None and endpoint.public:
            if request.method not in SAFE_METHODS and request.content_type != "application/json":
                return web.json_response({"error": "send the body as application/json"}, status=415)
            return await handler(request)
        session = sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return web.json_response({"error": "log in first"}, status=401)
        if request.path == "/ws" and not same_origin(request):
            log.warning("refused a live-values connection from origin %r", request.headers.get("Origin"))
            return web.json_response({"error": "the live view is served to this gateway's own pages only"},
                                     status=403)
        if request.method not in SAFE_METHODS:
            token = request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(token.encode(), session.csrf.encode()):
                return web.json_response({"error": "missing or wrong X-CSRF-Token header"}, status=403)
        request[SESSION_KEY] = session
        return await handler(request)
    return middleware


def same_origin(request: web.Request) -> bool:
    """Return True unless the request comes from a page of another origin. A WebSocket is not
    bound by the same-origin policy and a browser sends the session cookie along from any page of
    the same site, another port of the gateway's address included: only Origin tells them apart.
    A client that is no browser sends none."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    scheme, _, host = origin.partition("://")
    return scheme in ("http", "https") and host.lower() == request.host.lower()


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Hand the browser its session cookie: script cannot read it, other sites cannot send it."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/")


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Remove the session cookie."""
    response.del_cookie(COOKIE, path="/")

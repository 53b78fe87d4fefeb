"""Login, logout, first setup and password change."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from gateway import __version__
from gateway.core.audit import LOGIN, LOGIN_FAILED, LOGOUT, PASSWORD
from gateway.runtime.passwords import MAX_PASSWORD_LENGTH, AuthError, password_problem

from .api import Api, ApiError
from .context import LIMITER, SESSIONS, audit, backend_of, client_address
from .security import COOKIE, clear_session_cookie, set_session_cookie

Secret = Field(max_length=MAX_PASSWORD_LENGTH)


class Login(BaseModel):
    """The administrator's password."""

    password: str = Secret


class Setup(BaseModel):
    """The one-time setup code printed at first start, and the new password."""

    code: str = Field(max_length=64)
    password: str = Secret


class PasswordChange(BaseModel):
    """The current password and the new one."""

    current: str = Secret
    new: str = Secret


def register(api: Api) -> None:
    """Add the authentication endpoints."""
    api.route("GET", "/health", "Is the gateway ready", "auth", public=True)(health)
    api.route("GET", "/auth/state", "Whether a password is set and this browser is logged in", "auth",
              public=True)(state)
    api.route("POST", "/auth/setup", "Set the first password with the setup code", "auth", body=Setup,
              public=True, on_bad_body=_count_failed)(setup)
    api.route("POST", "/auth/login", "Log in", "auth", body=Login, public=True, on_bad_body=_count_failed)(login)
    api.route("POST", "/auth/logout", "Log out", "auth")(logout)
    api.route("POST", "/auth/password", "Change the password (logs out other sessions)", "auth",
              body=PasswordChange)(change_password)


async def health(request: web.Request, _body: None) -> dict[str, Any]:
    """Ready once the gateway runs; nothing else is told to anonymous callers."""
    ready = backend_of(request).status() is not None
    return {"status": "ready" if ready else "starting", "version": __version__}


async def state(request: web.Request, _body: None) -> dict[str, Any]:
    session = request.app[SESSIONS].get(request.cookies.get(COOKIE))
    return {"password_set": backend_of(request).passwords.is_set, "logged_in": session is not None,
            "csrf": session.csrf if session else None}


async def setup(request: web.Request, body: Setup) -> web.Response:
    passwords = backend_of(request).passwords
    if passwords.is_set:
        raise ApiError(409, "a password is already set; log in instead")
    _not_locked_out(request)
    if not passwords.check_setup_code(body.code):
        request.app[LIMITER].failed(client_address(request))
        audit(request, LOGIN_FAILED, "setup", "wrong setup code")
        raise ApiError(403, "wrong setup code (it was printed when the gateway first started, and is in "
                            "the setup-code file of its data folder)")
    if problem := password_problem(body.password):
        raise ApiError(400, problem, problems=[{"path": "password", "message": problem}])
    await asyncio.to_thread(passwords.set_password, body.password)
    audit(request, PASSWORD, "set", "first password, with the setup code")
    return _logged_in(request)


async def login(request: web.Request, body: Login) -> web.Response:
    passwords = backend_of(request).passwords
    if not passwords.is_set:
        raise ApiError(409, "no password is set yet: enter the setup code first")
    _not_locked_out(request)
    if not await asyncio.to_thread(passwords.verify, body.password):
        request.app[LIMITER].failed(client_address(request))
        audit(request, LOGIN_FAILED, "web UI", "wrong password")
        raise ApiError(401, "wrong password")
    request.app[LIMITER].succeeded(client_address(request))
    audit(request, LOGIN, "web UI")
    return _logged_in(request)


async def logout(request: web.Request, _body: None) -> web.Response:
    request.app[SESSIONS].end(request.cookies.get(COOKIE))
    audit(request, LOGOUT, "web UI")
    response = web.json_response({"logged_in": False})
    clear_session_cookie(response)
    return response


async def change_password(request: web.Request, body: PasswordChange) -> dict[str, Any]:
    passwords = backend_of(request).passwords
    _not_locked_out(request)
    if not await asyncio.to_thread(passwords.verify, body.current):
        request.app[LIMITER].failed(client_address(request))
        audit(request, LOGIN_FAILED, "password change", "wrong current password")
        raise ApiError(403, "the current password is wrong", problems=[{"path": "current", "message": "wrong"}])
    try:
        await asyncio.to_thread(passwords.set_password, body.new)
    except AuthError as exc:
        raise ApiError(400, str(exc), problems=[{"path": "new", "message": str(exc)}]) from exc
    request.app[SESSIONS].end_all_but(request.cookies.get(COOKIE))
    audit(request, PASSWORD, "changed", "other sessions logged out")
    return {"changed": True}


def _count_failed(request: web.Request) -> None:
    """Count a malformed login or setup body as a failed attempt: guessing with odd bodies is
    guessing too, and the rate limit must see it."""
    request.app[LIMITER].failed(client_address(request))


def _not_locked_out(request: web.Request) -> None:
    wait = request.app[LIMITER].retry_after(client_address(request))
    if wait > 0:
        seconds = int(wait) + 1
        raise ApiError(429, f"too many failed attempts; try again in {seconds} s", retry_after=seconds,
                       headers={"Retry-After": str(seconds)})


def _logged_in(request: web.Request) -> web.Response:
    token, session = request.app[SESSIONS].create()
    response = web.json_response({"logged_in": True, "csrf": session.csrf})
    set_session_cookie(response, request, token)
    return response

"""The admin web server: the REST API under /api/v1, the live WebSocket and the UI of webui/.

Every API route needs a logged-in session except health, login and setup (see
:mod:`.security`); every answer carries the security headers. The page is static files with no
inline script, served from the package, so nothing comes from the internet.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from aiohttp import web

from gateway.runtime.machine import MachineWatch, machine_addresses

from . import (
    routes_alarms,
    routes_audit,
    routes_auth,
    routes_browse,
    routes_config,
    routes_history,
    routes_measures,
    routes_scripts,
    routes_services,
    routes_settings,
    routes_status,
)
from .api import Api
from .auth import LoginLimiter, Sessions
from .backend import AdminBackend
from .context import BACKEND, LIMITER, MACHINE, SESSIONS, TLS
from .live import live
from .metrics import metrics_handler, metrics_registry
from .security import require_session, security_headers
from .tls import WebTls, redirect_app

log = logging.getLogger("gateway.web")

WEBUI_DIR = Path(str(files("gateway_webui")))  # webui/ of the checkout, or the installed package's copy
MAX_REQUEST_BYTES = 10 * 1024 * 1024
REFERENCE_PLACES = (WEBUI_DIR.parent / "docs" / "configuration.md", WEBUI_DIR / "docs" / "configuration.md")
SETUP_CODE_REMINDER = 60.0  # seconds between the setup code's boxes, until a password is set


def build_api() -> Api:
    """Return the table of every API endpoint."""
    api = Api()
    for module in (routes_auth, routes_status, routes_config, routes_browse, routes_services, routes_measures,
                   routes_scripts, routes_settings, routes_history, routes_alarms, routes_audit):
        module.register(api)
    return api


def build_app(backend: AdminBackend, api: Api | None = None, tls: WebTls | None = None) -> web.Application:
    """Return the aiohttp application serving ``backend`` (over ``tls`` when given)."""
    api = api or build_api()
    sessions = Sessions()
    app = web.Application(client_max_size=MAX_REQUEST_BYTES,
                          middlewares=[security_headers(), require_session(api, sessions)])
    app[BACKEND] = backend
    app[SESSIONS] = sessions
    app[LIMITER] = LoginLimiter()
    app[MACHINE] = MachineWatch(backend.data_dir)
    if tls is not None:
        app[TLS] = tls
    api.install(app)
    app.router.add_get("/ws", live)
    app.router.add_get("/metrics", metrics_handler(metrics_registry(backend)))
    app.router.add_get("/", _index)
    app.router.add_get("/docs/configuration.md", _configuration_reference)
    app.router.add_static("/static/", WEBUI_DIR / "static", follow_symlinks=False)
    return app


async def start_web(backend: AdminBackend, host: str, port: int, tls: WebTls | None = None) -> web.AppRunner:
    """Start serving (HTTPS with ``tls``); return the runner to clean up on stop."""
    runner = web.AppRunner(build_app(backend, tls=tls), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=tls.context if tls is not None else None).start()
    return runner


async def serve_admin_ui(backend: AdminBackend) -> Callable[[], Awaitable[None]]:
    """Serve the admin UI where the configuration says (the service's front end); return its stop.

    Without a password the one-time setup code is printed to the console in a box, again every
    minute until a password is set (start-up lines would scroll it away), and never logged: it is a
    secret, and the log is shown in the UI. With TLS the certificate's fingerprint is printed with it."""
    settings = backend.config.model.gateway.web
    tls = None
    if settings.tls:
        tls = await asyncio.to_thread(WebTls, backend.data_dir, backend.config.model.gateway.name,
                                      list(machine_addresses().values()))
    runners = [await start_web(backend, settings.host, settings.port, tls)]
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::") else settings.host
    url = f"{'https' if tls else 'http'}://{shown}:{settings.port}/"
    log.info("web UI on %s", url)
    said = [f"Open {url}"]
    if tls is not None:
        certificate = tls.describe()
        log.info("web UI certificate: SHA-256 %s (%s)", certificate.fingerprint,
                 "made by the gateway" if certificate.self_signed else "uploaded")
        said += ["(the certificate it shows has the SHA-256 fingerprint", f" {certificate.fingerprint})"]
    if settings.http_port is not None:
        redirect = web.AppRunner(redirect_app(settings.port), access_log=None)
        await redirect.setup()
        await web.TCPSite(redirect, settings.host, settings.http_port).start()
        runners.append(redirect)
        log.info("http://%s:%d/ redirects to HTTPS", shown, settings.http_port)
    reminder = asyncio.create_task(_remind_of_the_setup_code(backend, said), name="setup-code")

    async def stop() -> None:
        reminder.cancel()
        for runner in runners:
            await runner.cleanup()
    return stop


async def _remind_of_the_setup_code(backend: AdminBackend, said: list[str]) -> None:
    while (code := backend.passwords.setup_code()) is not None:
        lines = ["No administrator password is set.", *said,
                 f"and enter the one-time setup code  {code}",
                 f"(also in {backend.passwords.setup_code_path}),",
                 f"or run: gateway passwd -c {backend.config.path}"]
        width = max(len(line) for line in lines)
        box = "\n".join([f"+{'-' * (width + 2)}+", *(f"| {line.ljust(width)} |" for line in lines),
                         f"+{'-' * (width + 2)}+"])
        print(f"\n{box}\n", file=sys.stderr, flush=True)
        await asyncio.sleep(SETUP_CODE_REMINDER)


async def _configuration_reference(_request: web.Request) -> web.StreamResponse:
    """docs/configuration.md, which the forms link to: the checkout's, or the copy the app package
    puts beside the UI's files. Public, like the page's scripts: it holds no secret."""
    for candidate in REFERENCE_PLACES:
        if candidate.is_file():
            return web.FileResponse(candidate, headers={"Content-Type": "text/plain; charset=utf-8"})
    raise web.HTTPNotFound(text="the configuration reference is not installed with this gateway")


async def _index(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(WEBUI_DIR / "index.html")

"""The admin web server: the REST API under /api/v1, the live WebSocket and the UI of webui/.

Every API route needs a logged-in session except health, login and setup (see
:mod:`.security`); every answer carries the security headers. The page is static files with no
inline script, served from the package, so nothing comes from the internet.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from aiohttp import web

from gateway.runtime.machine import MachineWatch

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
from .context import BACKEND, LIMITER, MACHINE, SESSIONS
from .live import live
from .metrics import metrics_handler, metrics_registry
from .security import require_session, security_headers

log = logging.getLogger("gateway.web")

WEBUI_DIR = Path(str(files("gateway_webui")))  # webui/ of the checkout, or the installed package's copy
MAX_REQUEST_BYTES = 10 * 1024 * 1024


def build_api() -> Api:
    """Return the table of every API endpoint."""
    api = Api()
    for module in (routes_auth, routes_status, routes_config, routes_browse, routes_services, routes_measures,
                   routes_scripts, routes_settings, routes_history, routes_alarms, routes_audit):
        module.register(api)
    return api


def build_app(backend: AdminBackend, api: Api | None = None) -> web.Application:
    """Return the aiohttp application serving ``backend``."""
    api = api or build_api()
    sessions = Sessions()
    app = web.Application(client_max_size=MAX_REQUEST_BYTES,
                          middlewares=[security_headers(), require_session(api, sessions)])
    app[BACKEND] = backend
    app[SESSIONS] = sessions
    app[LIMITER] = LoginLimiter()
    app[MACHINE] = MachineWatch(backend.data_dir)
    api.install(app)
    app.router.add_get("/ws", live)
    app.router.add_get("/metrics", metrics_handler(metrics_registry(backend)))
    app.router.add_get("/", _index)
    app.router.add_static("/static/", WEBUI_DIR / "static", follow_symlinks=False)
    return app


async def start_web(backend: AdminBackend, host: str, port: int) -> web.AppRunner:
    """Start serving; return the runner to clean up on stop."""
    runner = web.AppRunner(build_app(backend), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def serve_admin_ui(backend: AdminBackend) -> Callable[[], Awaitable[None]]:
    """Serve the admin UI where the configuration says (the service's front end); return its stop.

    Without a password the one-time setup code is printed to the console, never logged: it is a
    secret, and the log is shown in the UI."""
    settings = backend.config.model.gateway.web
    runner = await start_web(backend, settings.host, settings.port)
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::") else settings.host
    log.info("web UI on http://%s:%d/", shown, settings.port)
    code = backend.passwords.setup_code()
    if code is not None:
        print(f"\nNo administrator password is set. Open http://{shown}:{settings.port}/ and enter the "
              f"one-time setup code {code}\n(also in {backend.passwords.setup_code_path}), or run "
              f"'gateway passwd -c {backend.config.path}'.\n", file=sys.stderr, flush=True)
    return runner.cleanup


async def _index(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(WEBUI_DIR / "index.html")

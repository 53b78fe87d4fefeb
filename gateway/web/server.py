"""The admin web server: for now the placeholder page of webui/ and the health endpoint."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from gateway import __version__

log = logging.getLogger("gateway.web")

WEBUI_DIR = Path(__file__).resolve().parents[2] / "webui"


def build_app() -> web.Application:
    """Return the aiohttp application."""
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/api/v1/health", _health)
    app.router.add_get("/", _index)
    return app


async def start_web(host: str, port: int) -> web.AppRunner:
    """Start serving; return the runner to clean up on stop."""
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ready", "version": __version__})


async def _index(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(WEBUI_DIR / "index.html")

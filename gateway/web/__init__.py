"""The admin web server (aiohttp): REST API, live WebSocket and the UI."""

from .server import build_api, build_app, serve_admin_ui, start_web

__all__ = ["build_api", "build_app", "serve_admin_ui", "start_web"]

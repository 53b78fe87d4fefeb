"""The admin web server (aiohttp)."""

from .server import build_app, start_web

__all__ = ["build_app", "start_web"]

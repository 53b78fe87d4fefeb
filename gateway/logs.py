"""Console logging: one line per event, with time, level and the component that speaks."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "info") -> None:
    """Send the gateway's log to stderr at ``level``; chatty libraries stay at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.setLevel(level.upper())  # loggers set lower for their own files (scripts') stay quiet here
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pymodbus", "snap7", "s7", "aiosqlite", "asyncio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

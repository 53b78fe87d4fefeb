"""The gateway's log: one line per event, with time, level and the component that speaks, on stderr
and, for a service, in a file rotated by size."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3


def setup_logging(level: str = "info", log_file: Path | None = None) -> None:
    """Log at ``level`` to stderr, or with ``log_file`` to that file (rotated at 5 MiB, 3 old files
    kept) and only warnings and errors to stderr; chatty libraries stay at WARNING, the device
    libraries are heard only at debug level."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(RotatingFileHandler(log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS,
                                            encoding="utf-8"))
    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(level.upper())  # loggers set lower for their own files (scripts') stay quiet here
    if log_file is not None:  # the file has everything; the console (a service's journal) the warnings
        handlers[0].setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level.upper())
    for noisy in ("aiosqlite", "asyncio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_device_libraries(level)


DEVICE_LIBRARIES = ("pymodbus", "snap7", "s7", "asyncua", "pylogix")


def quiet_device_libraries(level: str) -> None:
    """Keep the device libraries' own lines (an ERROR and a frame dump per bad answer, about 100
    lines in 8 s for one misbehaving device) out of the log unless ``level`` is debug: the poller
    already logs a failing device once, and once more when it recovers."""
    debug = level.upper() == "DEBUG"
    for library in DEVICE_LIBRARIES:
        logging.getLogger(library).setLevel(logging.DEBUG if debug else logging.CRITICAL)

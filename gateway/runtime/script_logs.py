"""Each script's own log: what it prints and logs, its failures, and why it was paused.

Records of the ``gateway.script.<name>`` loggers go, besides the gateway's console, to a file per
script under ``<data_dir>/logs/scripts/`` (rotated by size) and to a short in-memory tail that the
web UI shows. The file name is derived from the script's name, never taken from it: names may
hold any character, and a name must not become a path.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import deque
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from gateway.scripting.protocol import SCRIPT_LOGGER

MAX_FILE_BYTES = 1024 * 1024
BACKUPS = 2
TAIL_LINES = 500
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def log_file_name(script: str) -> str:
    """Return the file name of ``script``'s log: readable where the name allows, unique by a hash."""
    readable = _UNSAFE.sub("_", script).strip("._")[:60] or "script"
    return f"{readable}-{hashlib.sha256(script.encode()).hexdigest()[:8]}.log"


class ScriptLogs(logging.Handler):
    """Routes script log records to per-script files and keeps the last lines of each."""

    def __init__(self, directory: Path, max_bytes: int = MAX_FILE_BYTES, backups: int = BACKUPS) -> None:
        super().__init__(logging.DEBUG)
        self.directory = directory
        self._max_bytes, self._backups = max_bytes, backups
        self._files: dict[str, RotatingFileHandler] = {}
        self._tails: dict[str, deque[dict[str, Any]]] = {}
        self._lock_files = threading.Lock()
        self._level_before = logging.NOTSET
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))

    def attach(self) -> None:
        """Start receiving the records of every script logger."""
        self.directory.mkdir(parents=True, exist_ok=True)
        scripts = logging.getLogger(SCRIPT_LOGGER)
        self._level_before = scripts.level
        scripts.setLevel(logging.DEBUG)  # a script's prints reach its own log whatever the console shows
        scripts.addHandler(self)

    def close(self) -> None:
        """Stop receiving records and close the files."""
        scripts = logging.getLogger(SCRIPT_LOGGER)
        scripts.removeHandler(self)
        scripts.setLevel(self._level_before)
        with self._lock_files:
            for handler in self._files.values():
                handler.close()
            self._files.clear()
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        script = record.name.removeprefix(SCRIPT_LOGGER + ".")
        if script == record.name:
            return  # the parent logger itself speaks for no script
        self._tails.setdefault(script, deque(maxlen=TAIL_LINES)).append(
            {"time": record.created, "level": record.levelname, "message": record.getMessage()})
        try:
            self._file(script).emit(record)
        except Exception:  # noqa: BLE001 - a logging handler reports its own failure, never raises
            self.handleError(record)

    def tail(self, script: str, lines: int = TAIL_LINES) -> list[dict[str, Any]]:
        """Return the last ``lines`` records of ``script``, oldest first."""
        return list(self._tails.get(script, ()))[-lines:]

    def path(self, script: str) -> Path:
        """Return the file holding ``script``'s log."""
        return self.directory / log_file_name(script)

    def _file(self, script: str) -> RotatingFileHandler:
        with self._lock_files:
            handler = self._files.get(script)
            if handler is None:
                handler = RotatingFileHandler(self.path(script), maxBytes=self._max_bytes,
                                              backupCount=self._backups, encoding="utf-8")
                handler.setFormatter(self.formatter)
                self._files[script] = handler
            return handler

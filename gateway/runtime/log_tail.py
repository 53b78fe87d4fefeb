"""The last lines of the gateway's log, kept in memory for the web UI's live log view.

Each record gets a growing id, so a client asks for what came after the last line it has.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from typing import Any

KEEP = 2000


class LogTail(logging.Handler):
    """A bounded buffer of formatted log records, attached to the root logger."""

    def __init__(self, level: str = "info", keep: int = KEEP) -> None:
        super().__init__(level.upper())
        self._records: deque[dict[str, Any]] = deque(maxlen=keep)
        self._ids = itertools.count(1)

    def attach(self) -> None:
        """Start receiving the gateway's records at this handler's level (the gateway's log level)."""
        root = logging.getLogger()
        if root.getEffectiveLevel() > self.level:
            root.setLevel(self.level)
        root.addHandler(self)

    def close(self) -> None:
        """Stop receiving records."""
        logging.getLogger().removeHandler(self)
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append({"id": next(self._ids), "time": record.created, "level": record.levelname,
                              "logger": record.name, "message": record.getMessage()[:10_000]})

    def since(self, after: int = 0, level: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Return up to ``limit`` records newer than id ``after``, at ``level`` or above."""
        floor = logging.getLevelName(level.upper()) if level else logging.DEBUG
        if not isinstance(floor, int):
            floor = logging.DEBUG
        chosen = [r for r in self._records if r["id"] > after and logging.getLevelName(r["level"]) >= floor]
        return chosen[-limit:]

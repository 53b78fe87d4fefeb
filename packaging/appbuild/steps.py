"""Print each step of a build as it starts and how long it took, so a slow build shows where."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Steps:
    """Numbered steps with their times; ``note`` adds a detail line under the running step."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._started = time.monotonic()
        self._count = 0
        self.times: dict[str, float] = {}

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Time the block as one step."""
        self._count += 1
        self._print(f"[{self._clock()}] {self._count}. {what}")
        began = time.monotonic()
        yield
        self.times[what] = time.monotonic() - began
        self._print(f"[{self._clock()}]    done in {self.times[what]:.1f} s")

    def note(self, text: str) -> None:
        """Say something about the running step."""
        self._print(f"             {text}")

    def _clock(self) -> str:
        return f"{time.monotonic() - self._started:7.1f} s"

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

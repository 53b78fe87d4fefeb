"""Pace publishes to a rate, so a backlog drain never exceeds what the cloud accepts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    """Spaces calls at least ``1/rate`` seconds apart (bursts are not saved up)."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._monotonic, self._sleep = monotonic, sleep
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next publish may go."""
        now = self._monotonic()
        if self._next > now:
            await self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval

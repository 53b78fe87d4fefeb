"""Pace publishes to a message rate and a byte rate, so a backlog drain never exceeds what the
cloud accepts (AWS IoT: 100 publishes/s and 512 KiB/s per connection)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    """Spaces publishes so neither ``rate`` messages/s nor ``bytes_rate`` bytes/s is exceeded.

    A message may go when both budgets allow it; unused time is not saved up, so there are no
    bursts after a quiet spell.
    """

    def __init__(
        self,
        rate: float,
        bytes_rate: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._bytes_rate = bytes_rate
        self._monotonic, self._sleep = monotonic, sleep
        self._next = 0.0

    async def wait(self, size: int = 0) -> None:
        """Return when a message of ``size`` bytes may go."""
        now = self._monotonic()
        if self._next > now:
            await self._sleep(self._next - now)
            now = self._next
        spacing = self._interval
        if self._bytes_rate:
            spacing = max(spacing, size / self._bytes_rate)
        self._next = now + spacing

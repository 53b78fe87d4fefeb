"""The script calls under way, with what follows each (committing its messages, its writes and
their callbacks), so that a configuration change a script asked for waits for the call that
asked: the gateway restarts on the change, and a call cut short there loses what it published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class CallsInFlight:
    """Counts the calls being made and settled; :meth:`settled` waits for those under way now."""

    def __init__(self) -> None:
        self._running: set[asyncio.Future[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Mark a call and its settling as under way for the ``async with`` block."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running.add(done)
        try:
            yield
        finally:
            self._running.discard(done)
            done.set_result(None)

    async def settled(self) -> None:
        """Wait until the calls under way now have ended (calls started later are not waited
        for, so a busy schedule cannot hold a change back)."""
        if under_way := set(self._running):
            await asyncio.wait(under_way)

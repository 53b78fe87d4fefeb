"""The one way tests wait for a running system to reach a state: poll it, with a named deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.05


async def until(condition: Callable[[], T], what: str = "the condition", timeout: float = 10.0) -> T:
    """Return ``condition()``'s first true value, polling every 50 ms; fail saying ``what`` did not
    happen within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := condition()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)
    return result

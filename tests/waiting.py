"""The one way tests wait for a running system to reach a state: poll it, with a named deadline."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")
POLL_SECONDS = 0.05


async def until(condition: Callable[[], T | Awaitable[T]], what: str = "the condition", timeout: float = 10.0) -> T:
    """Return ``condition()``'s first true value (awaited when it is a coroutine, for a condition
    that asks a server), polling every 50 ms; fail saying ``what`` did not happen within
    ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await _value(condition())):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)
    return result


async def _value(result: T | Awaitable[T]) -> T:
    return await result if inspect.isawaitable(result) else cast(T, result)

"""A loop stops when cancelled even if a library swallowed the CancelledError."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.core.tasks import stop_if_cancelled


async def test_a_swallowed_cancellation_still_stops_the_loop() -> None:
    turns = 0

    async def loop() -> None:
        nonlocal turns
        while True:
            stop_if_cancelled()
            turns += 1
            with contextlib.suppress(asyncio.CancelledError):  # what 3.11's wait_for can do in a race
                await asyncio.sleep(0.01)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)
    assert turns >= 1

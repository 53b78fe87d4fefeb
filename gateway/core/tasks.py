"""Helpers for the gateway's long-running tasks."""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raise CancelledError when the current task has been asked to stop.

    On Python 3.11, ``asyncio.wait_for`` (used inside pymodbus, among others) can swallow a
    cancellation that arrives just as its result does (fixed in 3.12). A loop that calls this at
    each turn still stops: ``Task.cancelling()`` keeps counting the request.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

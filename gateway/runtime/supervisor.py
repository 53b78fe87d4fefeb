"""One failure policy for the gateway's long-running parts.

A part (a poller, the outbox's acknowledgement flusher, a cloud connector, an uploader, the
subscribe dispatcher, ...) that raises must not take the others with it: in a TaskGroup one
failed task cancels every other, and collection would stop for all until the service restarts.
:func:`supervised` runs a part, logs its failure once (with the traceback), starts it again after
a capped jittered backoff, and lets cancellation through untouched. A part that ran for
``HEALTHY_AFTER`` seconds before failing starts its backoff from the beginning again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.core.backoff import Backoff

log = logging.getLogger("gateway.supervisor")

HEALTHY_AFTER = 60.0
Part = Callable[[], Coroutine[Any, Any, None]]


async def supervised(name: str, part: Part, backoff: Backoff | None = None,
                     failures: dict[str, str] | None = None) -> None:
    """Run ``part()`` until it returns or is cancelled, starting it again whenever it raises.

    ``failures`` (shared by the gateway's parts) keeps the last error of each part that failed,
    for the status page.
    """
    backoff = backoff or Backoff(base=1.0, cap=60.0)
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await part()
            return
        except Exception as exc:  # any fault of one part; CancelledError is no Exception and goes through
            if loop.time() - started >= HEALTHY_AFTER:
                backoff.reset()
            delay = max(backoff.base / 2, backoff.next_delay())
            if failures is not None:
                failures[name] = f"{type(exc).__name__}: {exc}"
            if backoff.failures == 1:
                log.exception("%s failed and restarts in %.1f s; the other parts keep running", name, delay)
            else:
                log.debug("%s failed again (%d in a row), restarting in %.1f s: %r", name, backoff.failures,
                          delay, exc)
        await asyncio.sleep(delay)

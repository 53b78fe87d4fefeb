"""Run a blocking client's calls, in order, on one daemon thread that can be walked away from.

snap7's client blocks; a PLC that accepts a connection and never answers holds its thread until
the OS or the client times out. Stopping the gateway must not wait for that: :meth:`abandon`
lets the thread finish its call on its own (and then run a last clean-up) while the caller goes
on at once. The thread is a daemon, so it never holds the process when it exits either.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Job:
    call: Callable[..., Any]
    args: tuple[Any, ...] = ()
    done: asyncio.Future[Any] | None = None  # None for the last clean-up, which nobody waits for
    loop: asyncio.AbstractEventLoop | None = None


class BlockingWorker:
    """One daemon thread running submitted calls one after another."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._submitted = 0  # written by the event loop only
        self._finished = 0  # written by the thread only
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Return True while a call is running or waiting, even one whose caller stopped waiting."""
        return self._submitted != self._finished

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run ``call(*args)`` on the thread and return its result (or raise its exception)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self._submitted += 1
        self._jobs.put(_Job(call, args, done, loop))
        return await done

    def abandon(self, last: Callable[[], Any] | None = None) -> None:
        """Stop taking calls; the thread runs what it has, then ``last`` (e.g. a disconnect), and ends."""
        if last is not None:
            self._jobs.put(_Job(last))
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            outcome: tuple[Any, BaseException | None]
            try:
                outcome = (job.call(*job.args), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller, whatever it is
                outcome = (None, exc)
            if job.done is not None and job.loop is not None:
                self._finished += 1
                with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
                    job.loop.call_soon_threadsafe(_settle, job.done, *outcome)


def _settle(done: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)

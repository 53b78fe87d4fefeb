"""A blocking client library (snap7, pycomm3, ...) on its own thread, with every wait bounded.

A blocking client holds its thread until the OS or the library gives up; a PLC that accepts a
connection and never answers can hold it for minutes. The event loop must never wait that long:
:class:`BlockingSession` runs the client's calls in order on one private daemon thread, bounds
the connect by the controller's timeout and every other call by a few of them, and when a bound
is hit walks away from that thread (which finishes its call, disconnects its client and ends on
its own) and starts over with a new client and thread. Stopping therefore never waits for a
stuck call, and the thread, a daemon, never holds the process when it exits either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gateway.core.errors import ConnectError, RequestTimeout

log = logging.getLogger("gateway.southbound")

ClientT = TypeVar("ClientT")
CALL_BOUND = 3  # a call other than connect may take this many timeouts (one library retry and slack)


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


class BlockingSession(Generic[ClientT]):
    """One client of a blocking library, its thread, and the bounds on waiting for them.

    ``make_client`` builds a fresh client (after a stuck call the old one is left to its thread);
    ``disconnect`` closes one and may raise (it is ignored: closing never fails). Calls run one
    at a time in the order they were made. Library exceptions pass through unchanged, for the
    driver to translate; only the bounds raise :mod:`gateway.core.errors` classes themselves.
    """

    def __init__(self, name: str, timeout: float, make_client: Callable[[], ClientT],
                 disconnect: Callable[[ClientT], Any]) -> None:
        self._name, self._timeout = name, timeout
        self._make_client, self._disconnect = make_client, disconnect
        self._lock = asyncio.Lock()  # the client is not safe for concurrent calls
        self.client = make_client()
        self._worker = BlockingWorker(name)

    async def connect(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run the client's connect ``call``; ConnectError when it does not return within the timeout."""
        try:
            return await self._bounded(self._timeout, call, *args)
        except RequestTimeout as exc:
            raise ConnectError(f"no answer from {self._name} in {self._timeout:g} s") from exc

    async def call(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run one client call; RequestTimeout (and a new client) when it hangs past its bound."""
        return await self._bounded(self._timeout * CALL_BOUND, call, *args)

    async def close(self) -> None:
        """Disconnect the client; a call still blocking is not waited for (its thread disconnects
        once the call returns) and the session starts over with a new client. Never raises."""
        if self._worker.busy:
            self._walk_away()
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._worker.run(self._disconnect, self.client), self._timeout)
        if self._worker.busy:  # even the disconnect hung
            self._walk_away()

    async def _bounded(self, bound: float, call: Callable[..., Any], *args: Any) -> Any:
        async with self._lock:
            try:
                return await asyncio.wait_for(self._worker.run(call, *args), bound)
            except TimeoutError:
                self._walk_away()
                raise RequestTimeout(f"no answer from {self._name} in {bound:g} s") from None

    def _walk_away(self) -> None:
        client, worker = self.client, self._worker
        worker.abandon(last=lambda: _quietly(self._disconnect, client))
        log.debug("%s: a blocking call did not return; its thread is left to finish on its own", self._name)
        self.client, self._worker = self._make_client(), BlockingWorker(self._name)


def _quietly(call: Callable[[Any], Any], client: Any) -> None:
    with contextlib.suppress(Exception):
        call(client)

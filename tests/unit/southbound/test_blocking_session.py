"""A blocking library's client on its thread: calls in order, errors passed through, and no wait
longer than its bounds, even when the library never returns."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gateway.core.errors import ConnectError, RequestTimeout
from gateway.southbound.blocking import BlockingSession


class StuckLibraryClient:
    """A client of a blocking library: ``hang`` blocks its caller's thread until released."""

    made = 0

    def __init__(self) -> None:
        StuckLibraryClient.made += 1
        self.number = StuckLibraryClient.made
        self.release = threading.Event()
        self.disconnected = threading.Event()
        self.calls: list[str] = []

    def hang(self) -> str:
        self.release.wait(30)
        return "late"

    def echo(self, text: str) -> str:
        self.calls.append(text)
        return text

    def fail(self) -> None:
        raise OSError("connection reset by peer")

    def disconnect(self) -> None:
        self.disconnected.set()


def _session(timeout: float = 0.2) -> BlockingSession[StuckLibraryClient]:
    return BlockingSession("plc-under-test", timeout, StuckLibraryClient, StuckLibraryClient.disconnect)


async def test_calls_run_in_order_and_library_errors_pass_through() -> None:
    session = _session()
    client = session.client
    results = await asyncio.gather(*(session.call(client.echo, str(i)) for i in range(20)))
    assert results == [str(i) for i in range(20)] and client.calls == results
    with pytest.raises(OSError, match="reset by peer"):
        await session.call(client.fail)
    await session.close()
    assert client.disconnected.is_set()


async def test_a_connect_that_never_returns_fails_within_the_timeout_and_starts_over() -> None:
    session = _session(timeout=0.2)
    stuck = session.client
    started = time.monotonic()
    with pytest.raises(ConnectError, match=r"no answer from plc-under-test in 0\.2 s"):
        await session.connect(stuck.hang)
    assert time.monotonic() - started < 1.0
    assert session.client is not stuck  # the next connect gets a fresh client and thread
    assert await session.call(session.client.echo, "fresh") == "fresh"
    assert not stuck.disconnected.is_set()  # its thread is still inside the call...
    stuck.release.set()
    assert await asyncio.to_thread(stuck.disconnected.wait, 5)  # ...and disconnects once it returns


async def test_a_call_that_hangs_past_its_bound_is_a_request_timeout() -> None:
    session = _session(timeout=0.1)
    stuck = session.client
    with pytest.raises(RequestTimeout):
        await session.call(stuck.hang)
    assert session.client is not stuck
    stuck.release.set()


async def test_closing_does_not_wait_for_a_call_in_progress() -> None:
    session = _session(timeout=5.0)
    stuck = session.client
    pending = asyncio.create_task(session.call(stuck.hang))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await session.close()
    assert time.monotonic() - started < 0.5  # not the 15 s the call may still take
    assert session.client is not stuck
    pending.cancel()
    stuck.release.set()
    assert await asyncio.to_thread(stuck.disconnected.wait, 5)

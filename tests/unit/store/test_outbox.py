"""The outbox keeps order, deletes only what was acknowledged, survives reopening, evicts oldest."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gateway.core.messages import OutgoingMessage
from gateway.store import Outbox


def _messages(cloud: str, start: int, count: int) -> list[OutgoingMessage]:
    return [OutgoingMessage(cloud, "t", str(i).encode(), 1) for i in range(start, start + count)]


async def _payloads(outbox: Outbox, cloud: str) -> list[bytes]:
    return [m.payload for m in await outbox.fetch(cloud, 0, 10_000)]


@pytest.fixture
async def outbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    box = await Outbox.open(tmp_path / "outbox.db", max_messages=1000, max_bytes=10**6)
    yield box
    await box.close()


async def test_fifo_per_cloud(outbox: Outbox) -> None:
    await outbox.enqueue(_messages("a", 0, 3) + _messages("b", 0, 2))
    await outbox.enqueue(_messages("a", 3, 2))
    assert await _payloads(outbox, "a") == [b"0", b"1", b"2", b"3", b"4"]
    assert await _payloads(outbox, "b") == [b"0", b"1"]
    assert outbox.depth == 7


async def test_one_cycle_is_one_commit(tmp_path: Path, outbox: Outbox) -> None:
    """A reader sees either none or all of a cycle's messages."""
    await outbox.enqueue(_messages("a", 0, 500))
    with sqlite3.connect(tmp_path / "outbox.db") as reader:
        assert reader.execute("SELECT COUNT(*) FROM outbox").fetchone() == (500,)


async def test_acknowledged_rows_are_deleted_and_skipped(outbox: Outbox) -> None:
    await outbox.enqueue(_messages("a", 0, 4))
    first, second = (await outbox.fetch("a", 0, 2))
    outbox.ack(first.id)
    assert await _payloads(outbox, "a") == [b"1", b"2", b"3"]
    assert await outbox.flush_acks() == 1
    assert await _payloads(outbox, "a") == [b"1", b"2", b"3"]
    assert [m.payload for m in await outbox.fetch("a", second.id, 10)] == [b"2", b"3"]
    assert outbox.depth == 3


async def test_unacknowledged_messages_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, 1000, 10**6)
    await box.enqueue(_messages("a", 0, 3))
    [first, *_] = await box.fetch("a", 0, 1)
    box.ack(first.id)
    await box.close()
    reopened = await Outbox.open(path, 1000, 10**6)
    try:
        assert await _payloads(reopened, "a") == [b"1", b"2"]
        assert reopened.depth == 2
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        await reopened.close()


async def test_over_the_count_cap_the_oldest_are_evicted_and_counted(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db", max_messages=5, max_bytes=10**6)
    try:
        await box.enqueue(_messages("a", 0, 4))
        await box.enqueue(_messages("a", 4, 3))
        assert await _payloads(box, "a") == [b"2", b"3", b"4", b"5", b"6"]
        assert box.evicted == 2
    finally:
        await box.close()


async def test_over_the_size_cap_the_oldest_are_evicted(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db", max_messages=1000, max_bytes=250)
    try:
        big = [OutgoingMessage("a", "t", bytes([i]) * 100, 1) for i in range(4)]
        await box.enqueue(big)
        kept = await box.fetch("a", 0, 10)
        assert [m.payload[0] for m in kept] == [2, 3]
        assert box.evicted == 2
    finally:
        await box.close()


async def test_a_cancelled_cycle_still_commits_whole(tmp_path: Path) -> None:
    """Stopping the gateway mid-cycle must not roll back a cycle that started to commit."""
    path = tmp_path / "o.db"
    box = await Outbox.open(path, 100_000, 10**8)
    task = asyncio.create_task(box.enqueue(_messages("a", 0, 2000)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await box.close()
    reopened = await Outbox.open(path, 100_000, 10**8)
    try:
        assert len(await _payloads(reopened, "a")) == 2000
    finally:
        await reopened.close()


async def test_closing_during_an_ack_flush_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = await Outbox.open(path, 100_000, 10**8)
    await box.enqueue(_messages("a", 0, 2000))
    for message in await box.fetch("a", 0, 1500):
        box.ack(message.id)
    flush = asyncio.create_task(box.flush_acks())
    await asyncio.sleep(0)
    flush.cancel()
    await box.close()  # must not raise "database table is locked"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        remaining = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert remaining in (500, 2000)  # deleted whole or not at all; unacknowledged rows always kept

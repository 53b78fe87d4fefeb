"""Outbox benchmark: enqueue and drain throughput against raw SQLite and raw paho, in one run.

Enqueue: 100 upload cycles of 1,000 messages through Outbox.enqueue (one transaction each)
against sqlite3 executemany with the same rows and commits, and against one commit per message.
Drain: 20,000 stored QoS 1 messages delivered by the connector to Mosquitto (pacing off) against
a bare paho client publishing the same messages with the same in-flight window.

    python -m tests.bench.bench_outbox        (or: make bench)
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from gateway.cloud import MqttConnector
from gateway.config.schema import Cloud
from gateway.core.messages import OutgoingMessage
from gateway.demo.broker import MosquittoBroker
from gateway.store import Outbox
from tests.conftest import free_port

CYCLES, PER_CYCLE, PAYLOAD = 100, 1000, b"x" * 100
DRAIN = 20_000
INFLIGHT = 100


def _rows() -> list[OutgoingMessage]:
    return [OutgoingMessage("c", "bench/t", PAYLOAD, 1) for _ in range(PER_CYCLE)]


async def _enqueue_outbox(folder: Path) -> float:
    outbox = await Outbox.open(folder / "outbox.db", 10**7, 10**10)
    rows = _rows()
    started = time.perf_counter()
    for _ in range(CYCLES):
        await outbox.enqueue(rows)
    elapsed = time.perf_counter() - started
    await outbox.close()
    return CYCLES * PER_CYCLE / elapsed


def _enqueue_raw(folder: Path, commit_every_row: bool = False, cycles: int = CYCLES) -> float:
    folder.mkdir(exist_ok=True)
    db = sqlite3.connect(folder / "raw.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, cloud, topic, qos, payload, size, created)")
    rows = [("c", "bench/t", 1, PAYLOAD, len(PAYLOAD), 0.0)] * PER_CYCLE
    started = time.perf_counter()
    for _ in range(cycles):
        if commit_every_row:
            for row in rows:
                db.execute("INSERT INTO t (cloud, topic, qos, payload, size, created) VALUES (?,?,?,?,?,?)", row)
                db.commit()
        else:
            db.executemany("INSERT INTO t (cloud, topic, qos, payload, size, created) VALUES (?,?,?,?,?,?)", rows)
            db.commit()
    elapsed = time.perf_counter() - started
    db.close()
    return cycles * PER_CYCLE / elapsed


async def _drain_connector(folder: Path, port: int) -> float:
    outbox = await Outbox.open(folder / "drain.db", 10**7, 10**10)
    for _ in range(DRAIN // PER_CYCLE):
        await outbox.enqueue(_rows())
    cloud = Cloud(name="c", type="mqtt", host="127.0.0.1", port=port, client_id="bench-connector",
                  max_inflight=INFLIGHT, publish_rate=10**6)
    connector = MqttConnector(cloud, outbox, Path, "bench")
    flusher = asyncio.create_task(outbox.run_ack_flusher())
    started = time.perf_counter()
    task = asyncio.create_task(connector.run())
    while connector.state.delivered < DRAIN:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    task.cancel()
    flusher.cancel()
    await asyncio.gather(task, flusher, return_exceptions=True)
    await outbox.close()
    return DRAIN / elapsed


def _drain_raw_paho(port: int) -> float:
    done = threading.Event()
    acked = 0

    def on_publish(*_args: object) -> None:
        nonlocal acked
        acked += 1
        if acked == DRAIN:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for _ in range(DRAIN):
        client.publish("bench/t", PAYLOAD, 1)
    done.wait(120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return DRAIN / elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        outbox_rate = await _enqueue_outbox(folder)
        raw_rate = _enqueue_raw(folder)
        per_row_rate = _enqueue_raw(folder / "per-row", commit_every_row=True, cycles=3)
        broker = MosquittoBroker(free_port())
        broker.start()
        try:
            paho_rate = _drain_raw_paho(broker.port)
            drain_rate = await _drain_connector(folder, broker.port)
        finally:
            broker.close()
    print(f"{'enqueue, Outbox (one transaction per cycle of 1,000)':58} {outbox_rate:>10,.0f} msg/s")
    print(f"{'enqueue, raw sqlite3 executemany, same commits':58} {raw_rate:>10,.0f} msg/s"
          f"   outbox = {outbox_rate / raw_rate:.0%} of raw")
    print(f"{'enqueue, raw sqlite3, one commit per message':58} {per_row_rate:>10,.0f} msg/s")
    print(f"{'drain, connector to Mosquitto (QoS 1, 100 in flight)':58} {drain_rate:>10,.0f} msg/s")
    print(f"{'drain, raw paho publish to Mosquitto (QoS 1, 100 in flight)':58} {paho_rate:>10,.0f} msg/s"
          f"   connector = {drain_rate / paho_rate:.0%} of raw")


if __name__ == "__main__":
    asyncio.run(main())

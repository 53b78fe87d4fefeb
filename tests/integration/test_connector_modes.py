"""Connector behaviour: a PUBACK that never comes, live-first drain, MQTT 5."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.cloud import MqttConnector
from gateway.config.schema import Cloud
from gateway.core.messages import OutgoingMessage
from gateway.demo.broker import MosquittoBroker
from gateway.store import Outbox
from tests.conftest import Subscriber
from tests.waiting import until


@dataclass
class SilentBroker:
    """An MQTT 3.1.1 peer that accepts connections and publishes but never sends a PUBACK."""

    connections: int = 0
    payloads: list[bytes] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while True:
            header = await reader.readexactly(1)
            length, shift = 0, 0
            while True:
                byte = (await reader.readexactly(1))[0]
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            body = await reader.readexactly(length)
            kind = header[0] >> 4
            if kind == 1:  # CONNECT
                writer.write(b"\x20\x02\x00\x00")
            elif kind == 12:  # PINGREQ
                writer.write(b"\xd0\x00")
            elif kind == 3:  # PUBLISH: keep the payload, never acknowledge
                topic_length = int.from_bytes(body[:2], "big")
                qos = (header[0] >> 1) & 3
                self.payloads.append(body[2 + topic_length + (2 if qos else 0):])


@pytest.fixture
async def silent_broker() -> AsyncIterator[tuple[SilentBroker, int]]:
    peer = SilentBroker()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await peer.serve(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield peer, server.sockets[0].getsockname()[1]
    server.close()


async def _connector(tmp_path: Path, cloud: Cloud, messages: list[OutgoingMessage],
                     drain: str = "fifo") -> tuple[MqttConnector, Outbox, list[asyncio.Task[None]]]:
    outbox = await Outbox.open(tmp_path / "outbox.db", 10**6, 10**9)
    await outbox.enqueue(messages)
    connector = MqttConnector(cloud, outbox, Path, "test", cloud_drain=drain)
    tasks = [asyncio.create_task(connector.run()), asyncio.create_task(outbox.run_ack_flusher())]
    return connector, outbox, tasks


async def _stop(outbox: Outbox, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await outbox.close()


async def test_a_missing_puback_reconnects_and_resends(tmp_path: Path, silent_broker: tuple[SilentBroker, int]) -> None:
    peer, port = silent_broker
    cloud = Cloud(name="c", type="mqtt", host="127.0.0.1", port=port, client_id="t", puback_timeout=1.0)
    messages = [OutgoingMessage("c", "t/x", f"m{i}".encode(), 1) for i in range(3)]
    connector, outbox, tasks = await _connector(tmp_path, cloud, messages)
    try:
        await until(lambda: peer.connections >= 2 and len(peer.payloads) >= 6, "the resend after a reconnect", 10)
        reason = connector.state.last_error
    finally:
        await _stop(outbox, tasks)
    assert peer.payloads[:6] == [b"m0", b"m1", b"m2", b"m0", b"m1", b"m2"]  # all sent again, in order
    assert reason.startswith("no PUBACK for")
    reopened = await Outbox.open(tmp_path / "outbox.db", 10**6, 10**9)
    assert reopened.depth == 3  # never acknowledged, so never deleted
    await reopened.close()


async def test_live_first_sends_new_messages_before_the_backlog(tmp_path: Path, broker: MosquittoBroker) -> None:
    cloud = Cloud(name="c", type="mqtt", host="127.0.0.1", port=broker.port, client_id="t", publish_rate=40)
    backlog = [OutgoingMessage("c", "lf/backlog", json.dumps(i).encode(), 1) for i in range(40)]
    subscriber = Subscriber(broker.port, "lf/#")
    connector, outbox, tasks = await _connector(tmp_path, cloud, backlog, drain="live-first")
    try:
        while not connector.state.connected:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        await outbox.enqueue([OutgoingMessage("c", "lf/live", b"now", 1)])
        arrived: list[str] = []
        while len(arrived) < 41:
            message = await asyncio.to_thread(subscriber.get, 10)
            arrived.append(message.topic)
    finally:
        subscriber.close()
        await _stop(outbox, tasks)
    assert arrived.index("lf/live") < 20  # it did not wait behind the 40-message backlog (1 s at 40/s)
    assert arrived.count("lf/backlog") == 40


async def test_mqtt_5(tmp_path: Path, broker: MosquittoBroker) -> None:
    cloud = Cloud(name="c", type="mqtt", host="127.0.0.1", port=broker.port, client_id="v5", mqtt_version="5")
    subscriber = Subscriber(broker.port, "v5/#")
    connector, outbox, tasks = await _connector(tmp_path, cloud, [OutgoingMessage("c", "v5/x", b"hello", 1)])
    try:
        message = await asyncio.to_thread(subscriber.get, 10)
    finally:
        subscriber.close()
        await _stop(outbox, tasks)
    assert (message.topic, message.payload) == ("v5/x", b"hello")
    with pytest.raises(queue.Empty):
        subscriber.get(0)
    del connector

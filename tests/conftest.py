"""Fixtures that start real parts on free loopback ports: Mosquitto, pymodbus and snap7 servers."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.demo.broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """A private Mosquitto on a free port; persistent, so a restart keeps sessions and queues."""
    instance = MosquittoBroker(free_port(), extra_config="allow_anonymous true\n")
    instance.start()
    yield instance
    instance.close()


@dataclass
class Received:
    topic: str
    payload: bytes


class Subscriber:
    """A paho client collecting messages of a topic filter into a queue."""

    def __init__(self, port: int, topic: str, client_id: str = "test-subscriber", clean: bool = True) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        self._subscribed = queue.Queue[bool]()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.put(True)
        self._client.on_message = lambda _c, _u, m: self.messages.put(Received(m.topic, m.payload))
        self._client.reconnect_delay_set(0.05, 0.2)
        self._client.connect("127.0.0.1", port, keepalive=10)
        self._client.loop_start()
        self._subscribed.get(timeout=10)

    def get(self, timeout: float) -> Received:
        """Return the next message or raise queue.Empty."""
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def subscribe(broker: MosquittoBroker) -> Iterator[type[Subscriber]]:
    """Factory for subscribers on the test broker; all are closed at the end."""
    made: list[Subscriber] = []

    def factory(topic: str = "#", **kwargs: object) -> Subscriber:
        subscriber = Subscriber(broker.port, topic, **kwargs)  # type: ignore[arg-type]
        made.append(subscriber)
        return subscriber

    yield factory  # type: ignore[misc]
    for subscriber in made:
        subscriber.close()

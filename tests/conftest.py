"""Fixtures that start real parts on free loopback ports: Mosquitto, pymodbus and snap7 servers."""

from __future__ import annotations

import os
import pty
import queue
import random
import select
import socket
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.demo.broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def serial_pair() -> Iterator[tuple[str, str]]:
    """Two serial device paths wired to each other (two ptys and a copying thread): a null modem."""
    master_a, slave_a = pty.openpty()
    master_b, slave_b = pty.openpty()
    for fd in (slave_a, slave_b):
        tty.setraw(fd)
    stop = threading.Event()

    def copy() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([master_a, master_b], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                    os.write(master_b if fd == master_a else master_a, data)
                except OSError:
                    return

    thread = threading.Thread(target=copy, name="null-modem", daemon=True)
    thread.start()
    yield os.ttyname(slave_a), os.ttyname(slave_b)
    stop.set()
    thread.join(1)
    for fd in (master_a, slave_a, master_b, slave_b):
        os.close(fd)


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def restartable_port() -> int:
    """Return a free port below the kernel's ephemeral range, for a server a test stops and starts
    again. While it is down, a client reconnecting to a port in that range can be given the same
    port as its own source and connect to itself (TCP simultaneous open), and the restarted
    server then finds its address in use."""
    chooser = random.Random()
    for _ in range(200):
        port = chooser.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """A private Mosquitto on a free port; persistent, so a restart keeps sessions and queues."""
    instance = MosquittoBroker(restartable_port(), extra_config="allow_anonymous true\n")
    instance.start()
    yield instance
    instance.close()


@dataclass
class Received:
    topic: str
    payload: bytes


class Subscriber:
    """A paho client collecting messages of a topic filter into a queue."""

    def __init__(self, port: int, topic: str, client_id: str = "test-subscriber", clean: bool = True,
                 host: str = "127.0.0.1", tls: tuple[Path, Path, Path] | None = None,
                 username: tuple[str, str] | None = None) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        self._subscribed = queue.Queue[bool]()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.put(True)
        self._client.on_message = lambda _c, _u, m: self.messages.put(Received(m.topic, m.payload))
        self._client.reconnect_delay_set(0.05, 0.2)
        if username is not None:
            self._client.username_pw_set(*username)
        if tls is not None:
            ca, cert, key = tls
            self._client.tls_set(ca_certs=str(ca), certfile=str(cert), keyfile=str(key))
        self._client.connect(host, port, keepalive=10)
        self._client.loop_start()
        self._subscribed.get(timeout=10)

    def get(self, timeout: float) -> Received:
        """Return the next message or raise queue.Empty."""
        return self.messages.get(timeout=timeout)

    def drain(self) -> list[Received]:
        """Return every message received so far and not yet taken, without waiting."""
        taken = []
        while True:
            try:
                taken.append(self.messages.get_nowait())
            except queue.Empty:
                return taken

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

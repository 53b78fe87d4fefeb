"""A broker client that counts the values a gateway delivers, and how old the clock tags are."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable
from typing import IO

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class ValueCounter:
    """Subscribes to ``topics``; a subclass's :meth:`count` says how many values a message holds
    and the ages of its clock tags."""

    def __init__(self, port: int, topics: Iterable[str], client_id: str) -> None:
        self._lock = threading.Lock()
        self.values = 0
        self.ages: list[float] = []
        self.first = threading.Event()
        subscriptions = [(topic, 1) for topic in topics]
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.on_connect = lambda client, *_: client.subscribe(subscriptions)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def count(self, message: paho.MQTTMessage) -> tuple[int, list[float]] | None:
        """Return the values in ``message`` and the ages of its clocks; None: not a delivery."""
        raise NotImplementedError

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1)

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        counted = self.count(message)
        if counted is None:
            return
        with self._lock:
            self.values += counted[0]
            self.ages += counted[1]
        self.first.set()

    def take(self) -> tuple[int, list[float]]:
        """Return what arrived since the last call, and start counting again."""
        with self._lock:
            taken = (self.values, self.ages)
            self.values, self.ages = 0, []
        return taken

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def stop(process: subprocess.Popen[bytes], log: IO[str]) -> None:
    """Stop a gateway process (killed if it takes over 30 s) and close its log."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()

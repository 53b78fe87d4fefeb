"""A device-shadow service on Mosquitto with AWS IoT's documented semantics (classic shadow).

update: merges ``state.desired``/``state.reported`` (None deletes a key), bumps ``version``,
answers ``/update/accepted``; a ``version`` in the request that is not the current one gets
``/update/rejected`` code 409; when the update sets ``desired`` and it differs from
``reported``, the difference goes to ``/update/delta``. get: ``/get/accepted`` with desired,
reported, delta and version, or ``/get/rejected`` 404 when there is no shadow yet.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class ShadowService:
    """Serves the classic shadow of every thing on one broker; records what devices sent."""

    def __init__(self, port: int) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.reject_next_update: int | None = None
        self._lock = threading.Lock()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="shadow-service")
        ready = threading.Event()
        self._client.on_connect = lambda c, *_: c.subscribe(
            [("$aws/things/+/shadow/update", 1), ("$aws/things/+/shadow/get", 1)])
        self._client.on_subscribe = lambda *_: ready.set()
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        ready.wait(5)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def set_desired(self, thing: str, desired: dict[str, Any]) -> None:
        """Change ``desired`` as a cloud application would (through the service's own update)."""
        self._update(thing, {"state": {"desired": desired}})

    def publish_delta(self, thing: str, state: dict[str, Any], version: int) -> None:
        """Send a delta as is (e.g. an old one, delivered late)."""
        self._publish(thing, "update/delta", {"state": state, "version": version, "timestamp": int(time.time())})

    def reported(self, thing: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.documents.get(thing, {}).get("reported", {}))

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        parts = message.topic.split("/")
        thing, action = parts[2], parts[4]
        body = json.loads(message.payload or b"{}")
        token = body.get("clientToken")
        if action == "get":
            with self._lock:
                document = self.documents.get(thing)
            if document is None:
                self._publish(thing, "get/rejected", {"code": 404, "message": "No shadow exists", "clientToken": token})
                return
            state = {"desired": document["desired"], "reported": document["reported"]}
            if delta := _delta(document):
                state["delta"] = delta
            self._publish(thing, "get/accepted", {"state": state, "version": document["version"],
                                                 "clientToken": token, "timestamp": int(time.time())})
            return
        self.updates.append(body)
        if self.reject_next_update is not None:
            code, self.reject_next_update = self.reject_next_update, None
            self._publish(thing, "update/rejected", {"code": code, "message": "rejected", "clientToken": token})
            return
        self._update(thing, body)

    def _update(self, thing: str, body: dict[str, Any]) -> None:
        token = body.get("clientToken")
        with self._lock:
            document = self.documents.setdefault(thing, {"desired": {}, "reported": {}, "version": 0})
            if "version" in body and body["version"] != document["version"]:
                conflict = True
            else:
                conflict = False
                for section in ("desired", "reported"):
                    for key, value in body.get("state", {}).get(section, {}).items():
                        if value is None:
                            document[section].pop(key, None)
                        else:
                            document[section][key] = value
                document["version"] += 1
                version, delta = document["version"], _delta(document)
        if conflict:
            self._publish(thing, "update/rejected", {"code": 409, "message": "Version conflict", "clientToken": token})
            return
        self._publish(thing, "update/accepted", {"state": body.get("state", {}), "version": version,
                                                 "clientToken": token, "timestamp": int(time.time())})
        if "desired" in body.get("state", {}) and delta:
            self._publish(thing, "update/delta", {"state": delta, "version": version, "timestamp": int(time.time())})

    def _publish(self, thing: str, path: str, body: dict[str, Any]) -> None:
        self._client.publish(f"$aws/things/{thing}/shadow/{path}", json.dumps(body), 1)


def _delta(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document["desired"].items() if document["reported"].get(k) != v}

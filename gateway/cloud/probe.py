"""Try a cloud's settings before they are saved: the form's "Test connection".

An MQTT cloud (mqtt, aws-iot, sparkplug) is connected once with its host, port, TLS files and
credentials and disconnected at the CONNACK; an IoTgo server is reached over TCP (and TLS). The
test uses its own client id (``<id>-test``): a broker drops the older of two connections with one
id, and the running gateway's must stay up."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from gateway.config import Cloud
from gateway.core.errors import CloudError

from .mqtt import paho_client
from .tls import client_context, describe_failure

PROBE_SECONDS = 10.0


async def probe_cloud(cloud: Cloud, resolve: Callable[[str], Path], client_id: str) -> str:
    """Connect once; return what happened in a sentence, or raise CloudError saying why not."""
    started = time.monotonic()
    try:
        if cloud.type == "iotgo":
            await asyncio.to_thread(_reach, cloud, resolve)
            done = "reached"
        else:
            client_id = f"{cloud.client_id or client_id}-test"
            await asyncio.to_thread(_connect_mqtt, cloud, resolve, client_id)
            done = f"connected as {client_id}"
    except (OSError, ssl.SSLError) as exc:
        raise CloudError(f"{cloud.host}:{cloud.effective_port}: {describe_failure(exc)}") from exc
    tls = " over TLS" if cloud.uses_tls else ""
    return f"{done} {cloud.host}:{cloud.effective_port}{tls} in {(time.monotonic() - started) * 1000:.0f} ms"


def _reach(cloud: Cloud, resolve: Callable[[str], Path]) -> None:
    with socket.create_connection((cloud.host, cloud.effective_port), timeout=PROBE_SECONDS) as raw:
        if cloud.uses_tls:
            with client_context(cloud, resolve).wrap_socket(raw, server_hostname=cloud.host):
                pass


def _connect_mqtt(cloud: Cloud, resolve: Callable[[str], Path], client_id: str) -> None:
    # a clean session: the broker keeps nothing for the test's client id afterwards
    client = paho_client(cloud.model_copy(update={"clean_session": True}), resolve, client_id)
    answered = threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(_client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        outcome["reason"] = reason
        answered.set()

    client.on_connect = on_connect
    client.connect(cloud.host, cloud.effective_port, keepalive=max(5, cloud.keepalive))
    deadline = time.monotonic() + PROBE_SECONDS
    try:
        while not answered.is_set() and time.monotonic() < deadline:
            client.loop(timeout=0.2)
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
            client.loop(timeout=0.2)
    if not answered.is_set():
        raise TimeoutError("no CONNACK")
    reason = outcome["reason"]
    if getattr(reason, "is_failure", False):
        raise CloudError(f"{cloud.host}:{cloud.effective_port}: the broker refused the connection ({reason})")

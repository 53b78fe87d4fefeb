"""MQTT connector (paho-mqtt 2.x) that drains the outbox in order.

The connector owns reconnection: each connection is a fresh paho client, so paho never resends
anything on its own and the outbox stays the one source of truth. paho's callbacks run on its
network thread and are handed to asyncio with ``call_soon_threadsafe``; acknowledgements are
matched by message id. A row is marked delivered only on PUBACK (QoS 1/2) or once written to the
socket (QoS 0); on a disconnect every unacknowledged row is sent again, in order.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gateway.collect.backoff import Backoff
from gateway.config import Cloud
from gateway.store import Outbox
from gateway.tasks import stop_if_cancelled

from .pacing import Pacer

log = logging.getLogger("gateway.cloud")

CONNECT_TIMEOUT = 10.0


@dataclass
class LinkState:
    """What the UI and the log say about a cloud connection."""

    connected: bool = False
    last_error: str = ""
    since: float = 0.0
    delivered: int = 0


class _Disconnected(Exception):
    """The connection dropped while draining."""


OnMessage = Callable[[str, str, bytes], None]


class MqttConnector:
    """Keeps one connection to one broker, delivers the cloud's outbox rows, and receives
    messages on ``subscriptions`` (topic filter, qos), handed to ``on_message(cloud, topic, payload)``
    on the event loop."""

    def __init__(self, cloud: Cloud, outbox: Outbox, resolve: Callable[[str], Path], client_id: str,
                 subscriptions: Sequence[tuple[str, int]] = (), on_message: OnMessage | None = None) -> None:
        self.cloud = cloud
        self.state = LinkState()
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._outbox = outbox
        self._resolve = resolve
        self._client_id = cloud.client_id or client_id
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._inflight: dict[int, int] = {}  # paho mid -> outbox id
        self._window = asyncio.Semaphore(cloud.max_inflight)
        self._backoff = Backoff(base=1.0, cap=30.0)
        self._last_report = 0.0
        self._reported = 0

    async def run(self) -> None:
        """Connect, drain, and reconnect with backoff, until cancelled."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                stop_if_cancelled()
                try:
                    await self._connect()
                    self._backoff.reset()
                    await self._drain()
                except _Disconnected:
                    pass
                except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
                    self._set_down(_describe(exc))
                except Exception as exc:  # a paho or connector bug must not stop the gateway
                    log.exception("%s: unexpected connector error", self.cloud.name)
                    self._set_down(f"internal error: {exc!r}")
                await self._teardown()
                delay = self._backoff.next_delay()
                log.debug("%s: reconnecting in %.1f s", self.cloud.name, delay)
                await asyncio.sleep(delay)
        finally:
            await self._teardown(graceful=True)

    def send_now(self, cloud: str, topic: str, payload: bytes, qos: int) -> bool:
        """Publish without caching (``mqtt_publish``); thread-safe. Return whether it went out."""
        client = self._client
        if client is None or not self.state.connected:
            return False
        return client.publish(topic, payload, qos).rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    async def _connect(self) -> None:
        self._connected.clear()
        self._lost.clear()
        self._inflight.clear()
        self._window = asyncio.Semaphore(self.cloud.max_inflight)
        client = self._new_client()
        self._client = client
        host, port = self.cloud.host, self.cloud.effective_port
        await asyncio.wait_for(asyncio.to_thread(client.connect, host, port, self.cloud.keepalive), CONNECT_TIMEOUT)
        client.loop_start()
        connected = asyncio.create_task(self._connected.wait())
        lost = asyncio.create_task(self._lost.wait())
        done, pending = await asyncio.wait({connected, lost}, timeout=CONNECT_TIMEOUT,
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if connected not in done:
            if not done:
                self._set_down(f"no CONNACK from {host}:{port} within {CONNECT_TIMEOUT:.0f} s")
            raise _Disconnected
        self.state = LinkState(connected=True, since=time.time(), delivered=self.state.delivered)
        log.info("%s: connected to %s:%d as %s", self.cloud.name, host, port, self._client_id)
        if self._subscriptions:
            client.subscribe(self._subscriptions)
            log.info("%s: subscribed to %s", self.cloud.name, ", ".join(t for t, _ in self._subscriptions))

    def _new_client(self) -> paho.Client:
        cloud = self.cloud
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self._client_id,
                             clean_session=cloud.clean_session, protocol=paho.MQTTv311)
        client.connect_timeout = CONNECT_TIMEOUT
        client.max_inflight_messages_set(cloud.max_inflight)
        if cloud.username:
            password = cloud.password.get_secret_value() if cloud.password else None
            client.username_pw_set(cloud.username, password)
        if cloud.uses_tls:
            client.tls_set(
                ca_certs=str(self._resolve(cloud.root_ca)) if cloud.root_ca else None,
                certfile=str(self._resolve(cloud.cert)) if cloud.cert else None,
                keyfile=str(self._resolve(cloud.key)) if cloud.key else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if cloud.will:
            client.will_set(cloud.will.topic, cloud.will.payload, cloud.will.qos, cloud.will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_received
        return client

    async def _drain(self) -> None:
        """Send outbox rows in id order while connected; wait for more when empty."""
        pacer = Pacer(self.cloud.effective_rate)
        arrival = self._outbox.arrival(self.cloud.name)
        cursor = 0
        while not self._lost.is_set():
            stop_if_cancelled()
            arrival.clear()
            rows = await self._outbox.fetch(self.cloud.name, cursor, self.cloud.max_inflight)
            if not rows:
                await self._wait_for(arrival)
                continue
            for row in rows:
                await self._wait_for_window()
                await pacer.wait()
                info = self._client.publish(row.topic, row.payload, row.qos) if self._client else None
                if info is None or info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._window.release()
                    raise _Disconnected
                self._inflight[info.mid] = row.id
                cursor = row.id
        raise _Disconnected

    async def _wait_for(self, event: asyncio.Event) -> None:
        """Wait for ``event`` or a lost connection, whichever comes first."""
        waiter = asyncio.create_task(event.wait())
        lost = asyncio.create_task(self._lost.wait())
        try:
            await asyncio.wait({waiter, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            lost.cancel()
        if self._lost.is_set():
            raise _Disconnected

    async def _wait_for_window(self) -> None:
        acquire = asyncio.create_task(self._window.acquire())
        lost = asyncio.create_task(self._lost.wait())
        await asyncio.wait({acquire, lost}, return_when=asyncio.FIRST_COMPLETED)
        lost.cancel()
        if not acquire.done() or acquire.cancelled():
            acquire.cancel()
            raise _Disconnected
        if self._lost.is_set():
            self._window.release()
            raise _Disconnected

    async def _teardown(self, graceful: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if graceful and self.state.connected:
            log.info("%s: disconnecting", self.cloud.name)
        self.state.connected = False
        await asyncio.to_thread(_stop_client, client)

    def _set_down(self, reason: str) -> None:
        if self.state.connected or reason != self.state.last_error:
            log.warning("%s: connection to %s:%d failed: %s", self.cloud.name, self.cloud.host,
                        self.cloud.effective_port, reason)
        self.state.connected = False
        self.state.last_error = reason
        self.state.since = time.time()

    # paho callbacks: network thread -> event loop

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._call(client, self._refused, str(reason))
        else:
            self._call(client, self._connected.set)

    def _on_disconnect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._call(client, self._dropped, str(reason))

    def _on_publish(self, client: paho.Client, _userdata: Any, mid: int, _reason: Any, _props: Any) -> None:
        self._call(client, self._acknowledged, mid)

    def _on_received(self, client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if self._on_message is not None:
            self._call(client, self._on_message, self.cloud.name, message.topic, bytes(message.payload))

    def _call(self, client: paho.Client, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback`` on the event loop, unless it comes from an older connection's client."""
        def deliver() -> None:
            if client is self._client:
                callback(*args)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(deliver)

    def _refused(self, reason: str) -> None:
        self._set_down(f"broker refused the connection: {reason}")
        self._lost.set()

    def _dropped(self, reason: str) -> None:
        if self.state.connected:
            self._set_down(f"connection lost: {reason}")
        self._lost.set()

    def _acknowledged(self, mid: int) -> None:
        row_id = self._inflight.pop(mid, None)
        if row_id is None:
            return
        self._outbox.ack(row_id)
        self._window.release()
        self.state.delivered += 1
        self._report_progress()

    def _report_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_report >= 5.0:
            sent = self.state.delivered - self._reported
            log.info("%s: delivered %d message(s) (%d in total, %d waiting in the outbox)",
                     self.cloud.name, sent, self.state.delivered, self._outbox.depth)
            self._last_report, self._reported = now, self.state.delivered


def _stop_client(client: paho.Client) -> None:
    client.disconnect()
    client.loop_stop()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the server certificate did not verify ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "refused (is the broker running?)"
    if isinstance(exc, OSError) and exc.errno is None and "Name or service" in str(exc):
        return f"DNS: {exc}"
    return str(exc) or type(exc).__name__

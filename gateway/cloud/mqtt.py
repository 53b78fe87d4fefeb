"""MQTT connector (paho-mqtt 2.x) that drains the outbox in order.

The connector owns reconnection: each connection is a fresh paho client, so paho never resends
anything on its own and the outbox stays the one source of truth. paho's callbacks run on its
network thread and are handed to asyncio with ``call_soon_threadsafe``; acknowledgements are
matched by message id. A row is marked delivered only on PUBACK (QoS 1/2) or once written to the
socket (QoS 0); on a disconnect every unacknowledged row is sent again, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gateway.config import Cloud
from gateway.core.backoff import Backoff
from gateway.core.errors import CloudError
from gateway.core.tasks import stop_if_cancelled
from gateway.store import Outbox

from .connector import LinkState
from .pacing import Pacer
from .provisioning import load_provisioned, provision
from .tls import client_context, describe_failure, describe_socket_error

log = logging.getLogger("gateway.cloud")

CONNECT_TIMEOUT = 10.0
ACK_CHECK_INTERVAL = 1.0  # how often a wait looks for overdue PUBACKs
FILTERS_PER_SUBSCRIBE = 8  # AWS IoT's limit per SUBSCRIBE packet
FETCH_ROWS = 500  # outbox rows read per database round trip while draining


class _Disconnected(Exception):
    """The connection dropped while draining."""


OnMessage = Callable[[str, str, bytes], None]
WillFactory = Callable[[], tuple[str, bytes, int, bool]]  # topic, payload, qos, retain: made for each connection
Prepare = Callable[[str, bytes], bytes]  # an outbox row's payload as it goes out (Sparkplug stamps its seq)


class MqttConnector:
    """Keeps one connection to one broker, delivers the cloud's outbox rows, and receives
    messages on ``subscriptions`` (topic filter, qos), handed to ``on_message(cloud, topic, payload)``
    on the event loop."""

    def __init__(self, cloud: Cloud, outbox: Outbox, resolve: Callable[[str], Path], client_id: str, *,
                 subscriptions: Sequence[tuple[str, int]] = (), on_message: OnMessage | None = None,
                 cloud_drain: str = "fifo", on_connected: Callable[[], Awaitable[None]] | None = None,
                 state_dir: Path | None = None, provisioning_parameters: Mapping[str, str] | None = None,
                 will: WillFactory | None = None, prepare: Prepare | None = None) -> None:
        """``will`` makes the last will of each new connection (instead of the cloud's ``will``);
        ``prepare`` turns each outbox row's payload into what is published, as it is sent."""
        self.cloud = cloud
        self._will = will
        self._prepare = prepare
        self.state = LinkState()
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_connected = on_connected
        self._state_dir = state_dir or Path(".")
        self._provisioning_parameters = dict(provisioning_parameters or {})
        self._identity_ready = cloud.provisioning is None
        self._outbox = outbox
        self._resolve = resolve
        self._client_id = cloud.client_id or client_id
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self.subscribed = asyncio.Event()  # set once the broker answered every SUBSCRIBE of this connection
        self._pending_subscribes: dict[int, list[str]] = {}  # paho mid -> the filters it asked for
        self._inflight: dict[int, tuple[int, float]] = {}  # paho mid -> (outbox id, monotonic send time)
        self._window_free = asyncio.Event()  # set while fewer than max_inflight wait for a PUBACK
        self._socket_error = ""  # paho's last socket error text, to explain a refusal
        self._ack_lock = threading.Lock()  # paho's thread appends PUBACKs, the loop takes them in batches
        self._acks: list[int] = []
        self._ack_wakeup_pending = False
        self._live_first = cloud_drain == "live-first"
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
                    if not self._identity_ready:
                        await self._take_identity()
                    await self._connect()
                    self._backoff.reset()
                    await self._drain()
                except _Disconnected:
                    pass
                except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
                    self._set_down(describe_failure(exc))
                except CloudError as exc:
                    self._set_down(str(exc))
                except Exception as exc:  # a paho or connector bug must not stop the gateway
                    log.exception("%s: unexpected connector error", self.cloud.name)
                    self._set_down(f"internal error: {exc!r}")
                await self._teardown()
                delay = self._backoff.next_delay()
                log.debug("%s: reconnecting in %.1f s", self.cloud.name, delay)
                await asyncio.sleep(delay)
        finally:
            await self._teardown(graceful=True)

    async def _take_identity(self) -> None:
        """Connect as the provisioned thing; provision with the claim certificate the first time."""
        identity = load_provisioned(self._state_dir, self.cloud.name)
        if identity is None:
            assert self.cloud.provisioning is not None
            log.info("%s: provisioning with the claim certificate (template %s)", self.cloud.name,
                     self.cloud.provisioning.template)
            identity = await asyncio.to_thread(provision, self.cloud, self._resolve, self._state_dir,
                                               self._provisioning_parameters)
            log.info("%s: provisioned as thing %s; its certificate and key are in %s", self.cloud.name,
                     identity.thing, identity.cert.parent)
        self.cloud = self.cloud.model_copy(update={"client_id": identity.thing, "cert": str(identity.cert),
                                                   "key": str(identity.key)})
        self._client_id = identity.thing
        self._identity_ready = True

    def send_now(self, topic: str, payload: bytes, qos: int) -> bool:
        """Publish without caching (``mqtt_publish``); thread-safe. Return whether it went out."""
        client = self._client
        if client is None or not self.state.connected:
            return False
        return client.publish(topic, payload, qos).rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    async def _connect(self) -> None:
        self._connected.clear()
        self._lost.clear()
        self.subscribed.clear()
        self._pending_subscribes.clear()
        self._socket_error = ""
        with self._ack_lock:
            self._acks.clear()
        self._inflight.clear()
        self._window_free.set()
        client = self._new_client()
        self._client = client
        host, port = self.cloud.host, self.cloud.effective_port
        clean_start = self.cloud.clean_session if self.cloud.mqtt_version == "5" else paho.MQTT_CLEAN_START_FIRST_ONLY
        await asyncio.wait_for(asyncio.to_thread(client.connect, host, port, self.cloud.keepalive,
                                                 clean_start=clean_start), CONNECT_TIMEOUT)
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
        self.state = LinkState(connected=True, last_error=self.state.last_error, since=time.time(),
                               delivered=self.state.delivered, failures=self.state.failures)
        log.info("%s: connected to %s:%d as %s", self.cloud.name, host, port, self._client_id)
        self._subscribe(client)
        if self._on_connected is not None:
            await self._on_connected()

    def _subscribe(self, client: paho.Client) -> None:
        """Send the subscriptions, at most 8 filters per SUBSCRIBE (AWS IoT's limit).

        Each SUBACK is checked in ``_subscribe_answered``: a broker may refuse a filter its policy
        does not allow, and the user must learn that from the log rather than from silence.
        """
        for start in range(0, len(self._subscriptions), FILTERS_PER_SUBSCRIBE):
            chunk = self._subscriptions[start : start + FILTERS_PER_SUBSCRIBE]
            result, mid = client.subscribe(chunk)
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
                raise _Disconnected
            self._pending_subscribes[mid] = [topic for topic, _ in chunk]
        if not self._pending_subscribes:
            self.subscribed.set()

    def _subscribe_answered(self, mid: int, refusals: list[str]) -> None:
        """Log what the broker granted or refused; ``refusals`` holds a reason or "" per filter."""
        topics = self._pending_subscribes.pop(mid, None)
        if topics is None:
            return
        granted = []
        for topic, refusal in zip(topics, refusals, strict=False):
            if refusal:
                log.warning("%s: the broker refused the subscription to %s (%s); nothing published there "
                            "will reach the subscribe scripts", self.cloud.name, topic, refusal)
            else:
                granted.append(topic)
        if granted:
            log.info("%s: subscribed to %s", self.cloud.name, ", ".join(granted))
        if not self._pending_subscribes:
            self.subscribed.set()

    def _new_client(self) -> paho.Client:
        cloud = self.cloud
        client = paho_client(cloud, self._resolve, self._client_id)
        client.max_inflight_messages_set(cloud.max_inflight)
        if self._will is not None:
            topic, payload, qos, retain = self._will()
            client.will_set(topic, payload, qos, retain)
        elif cloud.will:
            client.will_set(cloud.will.topic, cloud.will.payload, cloud.will.qos, cloud.will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_received
        client.on_subscribe = self._on_subscribe
        client.on_log = self._on_log
        return client

    async def _drain(self) -> None:
        """Send outbox rows while connected, paced; wait for more when there are none.

        ``fifo`` sends in enqueue order. ``live-first`` sends what arrived since this connection
        came up before the backlog of the outage, which drains with the capacity left over.
        """
        pacer = Pacer(self.cloud.effective_rate, self.cloud.effective_bytes_rate)
        arrival = self._outbox.arrival(self.cloud.name)
        boundary = await self._outbox.last_id(self.cloud.name) if self._live_first else None
        cursors = {"live": boundary or 0, "backlog": 0}
        while not self._lost.is_set():
            stop_if_cancelled()
            arrival.clear()
            rows = await self._outbox.fetch(self.cloud.name, cursors["live"], FETCH_ROWS)
            lane = "live"
            if not rows and boundary is not None:
                rows = await self._outbox.fetch(self.cloud.name, cursors["backlog"], FETCH_ROWS, up_to_id=boundary)
                lane = "backlog"
            if not rows:
                await self._wait_for(arrival)
                continue
            for row in rows:
                if lane == "backlog" and arrival.is_set():
                    break  # live messages arrived: they go first
                await self._wait_for(self._window_free)
                await pacer.wait(len(row.payload))
                payload = self._prepare(row.topic, row.payload) if self._prepare is not None else row.payload
                info = self._client.publish(row.topic, payload, row.qos) if self._client else None
                if info is None or info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    raise _Disconnected
                self._inflight[info.mid] = (row.id, time.monotonic())
                if len(self._inflight) >= self.cloud.max_inflight:
                    self._window_free.clear()
                cursors[lane] = row.id
        raise _Disconnected

    async def _wait_for(self, event: asyncio.Event) -> None:
        """Wait for ``event``; give up when the connection is lost or a PUBACK is overdue.

        Losing the connection sets the drain's events too, so one plain wait is enough.
        """
        while not event.is_set():
            if self._lost.is_set():
                raise _Disconnected
            self._check_acknowledgements()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), ACK_CHECK_INTERVAL)
        if self._lost.is_set():
            raise _Disconnected

    def _check_acknowledgements(self) -> None:
        """Reconnect (and so resend) when the broker has not acknowledged a message in time."""
        if not self._inflight:
            return
        oldest = min(sent for _, sent in self._inflight.values())
        waited = time.monotonic() - oldest
        if waited > self.cloud.puback_timeout:
            self._set_down(f"no PUBACK for {waited:.0f} s; reconnecting to send the unacknowledged messages again")
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
        self.state.failures += 1

    # paho callbacks: network thread -> event loop

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._call(client, self._refused, str(reason))
        else:
            self._call(client, self._connected.set)

    def _on_disconnect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._call(client, self._dropped, str(reason))

    def _on_publish(self, client: paho.Client, _userdata: Any, mid: int, _reason: Any, _props: Any) -> None:
        """Queue the acknowledgement; one loop wake-up takes all that arrived meanwhile."""
        with self._ack_lock:
            self._acks.append(mid)
            if self._ack_wakeup_pending:
                return
            self._ack_wakeup_pending = True
        self._call(client, self._take_acknowledgements)

    def _on_subscribe(self, client: paho.Client, _userdata: Any, mid: int, reasons: list[Any], _props: Any) -> None:
        self._call(client, self._subscribe_answered, mid, [self._refusal(reason) for reason in reasons])

    def _refusal(self, reason: Any) -> str:
        """Why a SUBACK code refuses its filter, or "" when it grants it. MQTT 3.1.1 has a single
        failure code, which paho calls "Unspecified error"; MQTT 5 says why."""
        if not reason.is_failure:
            return ""
        return str(reason) if self.cloud.mqtt_version == "5" else "SUBACK failure 0x80, usually the broker's policy"

    def _take_acknowledgements(self) -> None:
        with self._ack_lock:
            mids, self._acks = self._acks, []
            self._ack_wakeup_pending = False
        for mid in mids:
            self._acknowledged(mid)

    def _on_log(self, client: paho.Client, _userdata: Any, level: int, text: str) -> None:
        if level == paho.MQTT_LOG_ERR:
            self._call(client, self._socket_failed, text)

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
        self._lose()

    def _dropped(self, reason: str) -> None:
        if self.state.connected:
            self._set_down(f"connection lost: {reason}")
        elif not self._lost.is_set():  # closed before CONNACK: TLS 1.3 reports a refused certificate only now
            self._set_down(describe_socket_error(self._socket_error) if self._socket_error else
                           "the broker closed the connection before accepting it (certificate or credentials?)")
        self._lose()

    def _lose(self) -> None:
        """Mark the connection lost and wake everything the drain may be waiting for."""
        self._lost.set()
        self._window_free.set()
        self._outbox.arrival(self.cloud.name).set()

    def _socket_failed(self, text: str) -> None:
        self._socket_error = text

    def _acknowledged(self, mid: int) -> None:
        sent = self._inflight.pop(mid, None)
        if sent is None:
            return
        self._outbox.ack(sent[0])
        self._window_free.set()
        self.state.delivered += 1
        self._report_progress()

    def _report_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_report >= 5.0:
            sent = self.state.delivered - self._reported
            log.info("%s: delivered %d message(s) (%d in total, %d waiting in the outbox)",
                     self.cloud.name, sent, self.state.delivered, self._outbox.depth)
            self._last_report, self._reported = now, self.state.delivered


def paho_client(cloud: Cloud, resolve: Callable[[str], Path], client_id: str) -> paho.Client:
    """A paho client for ``cloud``: its MQTT version and session, credentials and TLS files; the
    connector adds its callbacks, will and window, a connection test uses it as it is."""
    if cloud.mqtt_version == "5":
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    else:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=cloud.clean_session,
                             protocol=paho.MQTTv311)
    client.connect_timeout = CONNECT_TIMEOUT
    if cloud.username:
        client.username_pw_set(cloud.username, cloud.password.get_secret_value() if cloud.password else None)
    if cloud.uses_tls:
        client.tls_set_context(client_context(cloud, resolve))
    return client


def _stop_client(client: paho.Client) -> None:
    client.disconnect()
    client.loop_stop()


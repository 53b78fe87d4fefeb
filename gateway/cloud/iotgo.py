"""IoTgo connector: the gateway's measures as IoTgo devices, over one WebSocket (HTTP as fallback).

IoTgo's device API is JSON: requests carry ``action`` (register, update, query, date),
``deviceid``, ``apikey``, ``params`` and ``sequence``; answers carry ``error`` (0 ok; 400, 403,
404, 503 offline, 504 timeout) and echo ``deviceid``, ``apikey`` and ``sequence``.

- Updates come from the outbox like every cloud message (ordered per device, durable; one request
  in flight, and at most ``publish_rate`` per second when set): a row's topic is the deviceid and
  its payload the ``params`` object. A row is acknowledged on error 0. Only a message that can
  never be sent is dropped (logged, counted): params that are not a JSON object, a device no longer
  configured, or params the server refuses as they are (400: its type checks). A 403 or 404 says
  the server does not find the device with the key it was sent with: the device waits (see
  ``iotgo_keys``) and its rows stay; 503, 504 and a lost connection keep the row for the next try.
- A device sends only with a key the server took (``DeviceKeys``): factory devices ``register``
  first, on the WebSocket and over HTTP alike, and their updates wait until it succeeded.
- A push from an app (``action: update`` from the server, to factory-range ids only) writes the
  device's ``rw`` measures through the same path as ``write_plc_values`` and is answered with
  error 0 only when every write succeeded (400 for a param that is not a writable measure of the
  device, 503 when the PLC write failed).
- DIY devices with ``rw`` measures are asked for the app's changes (``AppChanges``).
- When the WebSocket cannot connect, waiting devices are asked again and pending updates go over
  HTTP (``POST /api/http``) until it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp

from gateway.config import Cloud, Measure
from gateway.config.iotgo_rules import plc_request
from gateway.core.backoff import Backoff
from gateway.core.tasks import stop_if_cancelled
from gateway.store import Outbox, StoredMessage

from .connector import LinkState
from .iotgo_changes import AppChanges, Write
from .iotgo_keys import KEY_REFUSED, DeviceKeys, IotgoRefused, Request

log = logging.getLogger("gateway.cloud")

NEVER_TAKEN = 400  # the server refuses these params as they are: resending cannot help
BATCH = 50

__all__ = ["IotgoConnector", "IotgoRefused"]


class IotgoConnector:
    """Delivers one iotgo cloud's outbox, serves its pushes and asks for its DIY devices' changes."""

    def __init__(self, cloud: Cloud, outbox: Outbox, devices: Mapping[str, list[Measure]], write: Write, *,
                 current: Callable[[str], dict[str, Any]] | None = None, state_dir: Path | None = None) -> None:
        """``devices`` maps each deviceid to the measures that are its params; ``write`` applies
        ``{controller: {measure: value}}`` and returns Device Supervisor's per-value results;
        ``current`` gives a device's params from the latest readings (for reporting an app's
        change back); ``state_dir`` keeps what was last reported of DIY devices' rw params."""
        self.cloud = cloud
        self._outbox, self._devices, self._write = outbox, dict(devices), write
        self._current = current or (lambda deviceid: {})
        self.keys = DeviceKeys(cloud.name, cloud.devices)
        self.state = LinkState(waiting=self.keys.waiting)
        state_file = state_dir / f"iotgo-{cloud.name}.json" if state_dir is not None else None
        self.changes = AppChanges(cloud.name, self._devices, write, state_file)
        self._sequences = itertools.count(int(time.time() * 1000))
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._backoff = Backoff(base=1.0, cap=60.0)
        self._background: set[asyncio.Task[None]] = set()  # pushes being answered, sends under way
        self._told_http_refused = False
        scheme = "s" if cloud.tls else ""
        self._ws_url = f"ws{scheme}://{cloud.host}:{cloud.effective_port}/api/ws"
        self._http_url = f"http{scheme}://{cloud.host}:{cloud.effective_port}/api/http"

    @property
    def dropped(self) -> int:
        """Messages that can never be sent (see the module's docstring), logged and not resent."""
        return self.state.dropped

    def send_now(self, topic: str, payload: bytes, qos: int) -> bool:
        """``mqtt_publish`` to an IoTgo device: sent at once when connected, never stored."""
        if self._socket is None or self._socket.closed or self.keys.key(topic) is None:
            return False
        self._spawn(self._send_now(topic, payload))
        return True

    async def run(self) -> None:
        """Connect, register, deliver and serve pushes until cancelled; reconnect with backoff."""
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=10)) as session:
                while True:
                    stop_if_cancelled()
                    try:
                        async with session.ws_connect(self._ws_url, heartbeat=30, max_msg_size=1024 * 1024) as socket:
                            await self._serve(socket)
                    except (aiohttp.ClientError, OSError, TimeoutError, IotgoRefused, ConnectionError) as exc:
                        self._down(str(exc) or type(exc).__name__)
                        await self._over_http(session)
                    finally:
                        self._socket = None
                        for future in self._pending.values():
                            future.cancel()
                        self._pending.clear()
                    await asyncio.sleep(self._backoff.next_delay())
        finally:
            self.changes.save(now=True)

    async def _serve(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        reader = asyncio.create_task(self._read(socket))
        try:
            was = self.state
            self.state = LinkState(connected=True, last_error=was.last_error, since=time.time(),
                                   delivered=was.delivered, failures=was.failures, dropped=was.dropped,
                                   waiting=was.waiting)
            log.info("%s: connected to %s with %d device(s)", self.cloud.name, self._ws_url, len(self._devices))
            self._backoff.reset()
            await self.keys.announce_all(self._request)
            work = {asyncio.create_task(self._drain(self._request)),
                    asyncio.create_task(self.keys.keep_asking(self._request)),
                    asyncio.create_task(self._ask_for_changes(self._request))}
            try:
                done, _ = await asyncio.wait({reader, *work}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in work:
                    await _cancelled(task)
            for task in done:
                task.result()
            raise ConnectionError("the server closed the WebSocket")
        finally:
            await _cancelled(reader)

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except (ValueError, RecursionError):  # nested too deep for the parser is no JSON either
                log.warning("%s: the server sent something that is not JSON; ignored", self.cloud.name)
                continue
            if not isinstance(data, dict):
                continue
            if data.get("action") == "update" and "error" not in data:
                self._spawn(self._push(socket, data))
            elif (future := self._pending.get(str(data.get("sequence")))) is not None and not future.done():
                future.set_result(data)

    async def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one request over the WebSocket and return the answer; raise IotgoRefused on an error."""
        socket = self._socket
        if socket is None or socket.closed:
            raise ConnectionError("not connected")
        sequence = str(next(self._sequences))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        try:
            await socket.send_str(json.dumps({**body, "sequence": sequence}))
            answer = await asyncio.wait_for(future, self.cloud.response_timeout)
        except TimeoutError as exc:
            raise IotgoRefused(504, f"{body['action']} {body.get('deviceid')}: no answer") from exc
        finally:
            self._pending.pop(sequence, None)
        return _accepted(answer, body)

    async def _drain(self, request: Request) -> None:
        """Send the outbox's updates in order until cancelled (or, over HTTP, until none is left or
        one fails). A waiting device's rows are passed over, and all its later rows of the same pass
        with them, so that its updates go in order once it may send: then the pass starts over."""
        after, passed_over = 0, set[str]()
        arrival = self._outbox.arrival(self.cloud.name)
        while True:
            if self.keys.ready.is_set():
                self.keys.ready.clear()
                after, passed_over = 0, set()
            rows = await self._outbox.fetch(self.cloud.name, after, BATCH)
            if not rows:
                arrival.clear()
                if request == self._request:  # the WebSocket stays: wait for more
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(arrival.wait(), 1.0)
                    continue
                return
            for row in rows:
                after = row.id
                if row.topic in passed_over or not await self._deliver(row, request):
                    passed_over.add(row.topic)
                    continue
                if self.cloud.publish_rate is not None:  # paced like MQTT; otherwise one request at a time
                    await asyncio.sleep(1 / self.cloud.publish_rate)

    async def _deliver(self, row: StoredMessage, request: Request) -> bool:
        """Send one row; return False when its device waits for a key and the row stays."""
        try:
            params = json.loads(row.payload)
            if not isinstance(params, dict):
                raise ValueError("params must be a JSON object")
        except (ValueError, RecursionError) as exc:
            return self._drop(row, f"message for {row.topic} dropped: {exc}")
        if row.topic not in self._devices:
            return self._drop(row, f"message for unknown device '{row.topic}' dropped")
        apikey = self.keys.key(row.topic)
        if apikey is None:
            return False
        lock = self.changes.locks.get(row.topic)
        try:
            async with lock or contextlib.nullcontext():
                if lock is not None:  # a DIY device's update would overwrite an app's change not yet seen
                    params.update(await self._take_changes(row.topic, apikey, request))
                await request({"action": "update", "deviceid": row.topic, "apikey": apikey, "params": params})
        except IotgoRefused as exc:
            if exc.error in KEY_REFUSED:
                self.keys.refused(row.topic, exc.error, "update")
                return False
            if exc.error != NEVER_TAKEN:
                raise
            return self._drop(row, f"the server refuses the update of {row.topic} as it is ({exc}); dropped")
        self.keys.took(row.topic)
        self.changes.reported(row.topic, params)
        self.state.delivered += 1
        self._outbox.ack(row.id)
        return True

    async def _take_changes(self, deviceid: str, apikey: str, request: Request) -> dict[str, Any]:
        """The app's changes written before an update of ``deviceid``; a query the server refuses as
        it is (400) does not cost the update."""
        try:
            return (await self.changes.take(deviceid, apikey, request)).written
        except IotgoRefused as exc:
            if exc.error != NEVER_TAKEN:
                raise
            log.warning("%s: asking %s for the app's changes failed: %s", self.cloud.name, deviceid, exc)
            return {}

    def _drop(self, row: StoredMessage, why: str) -> bool:
        log.error("%s: %s", self.cloud.name, why)
        self.state.dropped += 1
        self._outbox.ack(row.id)
        return True

    async def _ask_for_changes(self, request: Request) -> None:
        """Every ``query_interval``, ask each DIY device with rw measures for the app's changes
        (unless an update of it asked lately) and report what was written back at once."""
        while True:
            await self._ask_due(request)
            await asyncio.sleep(min(1.0, self.cloud.query_interval))

    async def _ask_due(self, request: Request) -> None:
        """One round of :meth:`_ask_for_changes`: the devices not asked for ``query_interval``."""
        for deviceid in self.changes.due(self.cloud.query_interval):
            apikey = self.keys.key(deviceid)
            if apikey is None:
                continue
            try:
                async with self.changes.locks[deviceid]:
                    taken = await self.changes.take(deviceid, apikey, request)
                    report = {**self._current(deviceid), **taken.written} if taken else {}
                    if report:
                        await request({"action": "update", "deviceid": deviceid, "apikey": apikey, "params": report})
                        self.changes.reported(deviceid, report)
            except IotgoRefused as exc:
                if exc.error in KEY_REFUSED:
                    self.keys.refused(deviceid, exc.error, "query")
                else:
                    log.warning("%s: asking %s for the app's changes failed: %s", self.cloud.name, deviceid, exc)
        self.changes.save()

    async def _over_http(self, session: aiohttp.ClientSession) -> None:
        """While the WebSocket is down: ask again for waiting devices, take the DIY devices' changes
        and send pending updates over HTTP; stop at the first failure."""
        async def post(body: dict[str, Any]) -> dict[str, Any]:
            sequence = str(next(self._sequences))
            async with session.post(self._http_url, json={**body, "sequence": sequence},
                                    headers={"Host": self.cloud.host},
                                    timeout=aiohttp.ClientTimeout(total=self.cloud.response_timeout)) as response:
                if response.status == HTTPStatus.BAD_REQUEST and not self._told_http_refused:
                    self._told_http_refused = True  # the server takes HTTP only for its own host name
                    log.warning("%s: the server refuses HTTP requests for host '%s' (400); the HTTP fallback works "
                                "only when host is the name the server is configured with", self.cloud.name,
                                self.cloud.host)
                answer = await response.json(content_type=None)
            if not isinstance(answer, dict):
                raise ConnectionError("the HTTP answer is not a JSON object")
            return _accepted(answer, body)

        try:
            await self.keys.announce_due(post)
            await self._ask_due(post)
            await self._drain(post)
        except (aiohttp.ClientError, OSError, TimeoutError, IotgoRefused, ValueError, ConnectionError) as exc:
            log.debug("%s: HTTP fallback failed too: %s", self.cloud.name, exc)

    async def _push(self, socket: aiohttp.ClientWebSocketResponse, push: dict[str, Any]) -> None:
        """Write an app's change to the device's measures; answer error 0 only when all were written."""
        deviceid, params = str(push.get("deviceid")), push.get("params")
        error = 0
        measures = {m.name: m for m in self._devices.get(deviceid, [])}
        if not isinstance(params, dict) or not params or deviceid not in self._devices:
            error = 400 if deviceid in self._devices else 404
        elif any(name not in measures or measures[name].access != "rw" for name in params):
            error = 400
            log.warning("%s: push to %s refused: %s are not writable measures of the device", self.cloud.name,
                        deviceid, ", ".join(n for n in params if n not in measures or measures[n].access != "rw"))
        else:
            results = await self._write(plc_request(deviceid, measures, params))
            if any(r["result"] != "OK" for r in results):
                error = 503
        answer = {"error": error, "deviceid": deviceid, "apikey": self.keys.key(deviceid) or push.get("apikey"),
                  "sequence": push.get("sequence")}
        if not socket.closed:
            await socket.send_str(json.dumps(answer))

    async def _send_now(self, deviceid: str, payload: bytes) -> None:
        try:
            await self._request({"action": "update", "deviceid": deviceid, "apikey": self.keys.key(deviceid) or "",
                                 "params": json.loads(payload)})
        except (IotgoRefused, ConnectionError, ValueError, RecursionError) as exc:
            log.warning("%s: mqtt_publish to %s not sent: %s", self.cloud.name, deviceid, exc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, keeping a reference so it is not collected mid-flight."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _down(self, reason: str) -> None:
        if self.state.connected or reason != self.state.last_error:
            log.warning("%s: connection to %s failed: %s", self.cloud.name, self._ws_url, reason)
        self.state.connected = False
        self.state.last_error = reason
        self.state.since = time.time()
        self.state.failures += 1


def _accepted(answer: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Return ``answer`` when its error is 0; raise IotgoRefused with its error otherwise (an error
    that is no number is the server's bad answer: 504, tried again)."""
    error = answer.get("error", 0)
    if error != 0:
        code = error if isinstance(error, int) and not isinstance(error, bool) else 504
        raise IotgoRefused(code, f"{body['action']} {body.get('deviceid')}")
    return answer


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, so that an error it ended with is not left unretrieved (the
    caller has its own outcome to report)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task

"""IoTgo connector: the gateway's measures as IoTgo devices, over one WebSocket (HTTP as fallback).

IoTgo's device API is JSON: requests carry ``action`` (register, update, query, date),
``deviceid``, ``apikey``, ``params`` and ``sequence``; answers carry ``error`` (0 ok; 400, 403,
404, 503 offline, 504 timeout) and echo ``deviceid``, ``apikey`` and ``sequence``.

- Updates come from the outbox like every cloud message (ordered, durable; one request in flight,
  and at most ``publish_rate`` per second when set): a row's topic
  is the deviceid and its payload the ``params`` object. A row is acknowledged on error 0; a
  request the server refuses for good (400, 403, 404) is logged and dropped so it cannot block the
  queue; 503 and 504 keep it for the next attempt.
- Factory devices ``register`` on every (re)connection and use the owner's apikey it returns.
- A push from an app (``action: update`` from the server) writes the device's ``rw`` measures
  through the same path as ``write_plc_values`` and is answered with error 0 only when every write
  succeeded (400 for a param that is not a writable measure of the device, 503 when the PLC write
  failed).
- When the WebSocket cannot connect, pending updates go over HTTP (``POST /api/http``) until it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import aiohttp

from gateway.config import Cloud, Measure
from gateway.core.backoff import Backoff
from gateway.core.tasks import stop_if_cancelled
from gateway.store import Outbox, StoredMessage

from .connector import LinkState

log = logging.getLogger("gateway.cloud")

Write = Callable[[Mapping[str, Any]], Awaitable[list[dict[str, Any]]]]  # PlcWriter.apply
Request = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]  # one request, over the WebSocket or HTTP
FOR_GOOD = (400, 403, 404)  # the server will never accept this request as it is
BATCH = 50


class IotgoRefused(Exception):
    """The server answered a request with a non-zero error."""

    def __init__(self, error: int, request: str) -> None:
        super().__init__(f"{request}: error {error}")
        self.error = error


class IotgoConnector:
    """Delivers one iotgo cloud's outbox and serves its pushes."""

    def __init__(self, cloud: Cloud, outbox: Outbox, devices: Mapping[str, list[Measure]], write: Write) -> None:
        """``devices`` maps each deviceid to the measures that are its params; ``write`` applies
        ``{controller: {measure: value}}`` and returns Device Supervisor's per-value results."""
        self.cloud = cloud
        self.state = LinkState()
        self._outbox, self._devices, self._write = outbox, dict(devices), write
        self._apikeys = {d.deviceid: d.apikey for d in cloud.devices}
        self._factory = [d for d in cloud.devices if d.factory]
        self._sequences = itertools.count(int(time.time() * 1000))
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._backoff = Backoff(base=1.0, cap=60.0)
        self.dropped = 0  # updates the server refused for good (400, 403, 404), logged and not resent
        self._background: set[asyncio.Task[None]] = set()  # pushes being answered, sends under way
        scheme = "s" if cloud.tls else ""
        self._ws_url = f"ws{scheme}://{cloud.host}:{cloud.effective_port}/api/ws"
        self._http_url = f"http{scheme}://{cloud.host}:{cloud.effective_port}/api/http"

    def send_now(self, topic: str, payload: bytes, qos: int) -> bool:
        """``mqtt_publish`` to an IoTgo device: sent at once when connected, never stored."""
        if self._socket is None or self._socket.closed:
            return False
        self._spawn(self._send_now(topic, payload))
        return True

    async def run(self) -> None:
        """Connect, register, deliver and serve pushes until cancelled; reconnect with backoff."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=10)) as session:
            while True:
                stop_if_cancelled()
                try:
                    async with session.ws_connect(self._ws_url, heartbeat=30, max_msg_size=1024 * 1024) as socket:
                        await self._serve(socket)
                except (aiohttp.ClientError, OSError, TimeoutError, IotgoRefused, ConnectionError) as exc:
                    self._down(str(exc) or type(exc).__name__)
                    await self._drain_over_http(session)
                finally:
                    self._socket = None
                    for future in self._pending.values():
                        future.cancel()
                    self._pending.clear()
                await asyncio.sleep(self._backoff.next_delay())

    async def _serve(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        reader = asyncio.create_task(self._read(socket))
        try:
            for device in self._factory:
                answer = await self._request({"action": "register", "deviceid": device.deviceid,
                                              "apikey": device.apikey})
                self._apikeys[device.deviceid] = str(answer.get("apikey") or device.apikey)
            was = self.state
            self.state = LinkState(connected=True, last_error=was.last_error, since=time.time(),
                                   delivered=was.delivered, failures=was.failures)
            log.info("%s: connected to %s with %d device(s)", self.cloud.name, self._ws_url, len(self._apikeys))
            self._backoff.reset()
            drain = asyncio.create_task(self._drain(self._request))
            try:
                done, _ = await asyncio.wait({reader, drain}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await _cancelled(drain)
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
        if answer.get("error", 0) != 0:
            raise IotgoRefused(int(answer["error"]), f"{body['action']} {body.get('deviceid')}")
        return answer

    async def _drain(self, request: Request) -> None:
        """Send the outbox's updates in order until cancelled (or, over HTTP, until one fails)."""
        after = 0
        arrival = self._outbox.arrival(self.cloud.name)
        while True:
            rows = await self._outbox.fetch(self.cloud.name, after, BATCH)
            if not rows:
                arrival.clear()
                if request == self._request:  # the WebSocket stays: wait for more
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(arrival.wait(), 1.0)
                    continue
                return
            for row in rows:
                await self._deliver(row, request)
                after = row.id
                if self.cloud.publish_rate is not None:  # paced like MQTT; otherwise one request at a time
                    await asyncio.sleep(1 / self.cloud.publish_rate)

    async def _deliver(self, row: StoredMessage, request: Request) -> None:
        try:
            params = json.loads(row.payload)
            if not isinstance(params, dict):
                raise ValueError("params must be a JSON object")
        except (ValueError, RecursionError) as exc:
            log.error("%s: message for %s dropped: %s", self.cloud.name, row.topic, exc)
            self._outbox.ack(row.id)
            return
        apikey = self._apikeys.get(row.topic)
        if apikey is None:
            log.error("%s: message for unknown device '%s' dropped", self.cloud.name, row.topic)
            self._outbox.ack(row.id)
            return
        try:
            await request({"action": "update", "deviceid": row.topic, "apikey": apikey, "params": params})
        except IotgoRefused as exc:
            if exc.error not in FOR_GOOD:
                raise
            log.error("%s: the server refuses the update of %s for good (%s); dropped", self.cloud.name, row.topic,
                      exc)
            self.dropped += 1
        else:
            self.state.delivered += 1
        self._outbox.ack(row.id)

    async def _drain_over_http(self, session: aiohttp.ClientSession) -> None:
        """While the WebSocket is down, send pending updates over HTTP; stop at the first failure."""
        async def post(body: dict[str, Any]) -> dict[str, Any]:
            sequence = str(next(self._sequences))
            async with session.post(self._http_url, json={**body, "sequence": sequence},
                                    headers={"Host": self.cloud.host},
                                    timeout=aiohttp.ClientTimeout(total=self.cloud.response_timeout)) as response:
                answer = await response.json(content_type=None)
            if not isinstance(answer, dict):
                raise IotgoRefused(400, "the HTTP answer is not a JSON object")
            if answer.get("error", 0) != 0:
                raise IotgoRefused(int(answer["error"]), f"{body['action']} {body.get('deviceid')}")
            return answer

        try:
            await self._drain(post)
        except (aiohttp.ClientError, OSError, TimeoutError, IotgoRefused, ValueError) as exc:
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
            request: dict[str, dict[str, Any]] = {}
            for name, value in params.items():
                request.setdefault(measures[name].controller, {})[name] = value
            results = await self._write(request)
            if any(r["result"] != "OK" for r in results):
                error = 503
        answer = {"error": error, "deviceid": deviceid, "apikey": self._apikeys.get(deviceid, push.get("apikey")),
                  "sequence": push.get("sequence")}
        if not socket.closed:
            await socket.send_str(json.dumps(answer))

    async def _send_now(self, deviceid: str, payload: bytes) -> None:
        try:
            await self._request({"action": "update", "deviceid": deviceid, "apikey": self._apikeys.get(deviceid, ""),
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


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, so that an error it ended with is not left unretrieved (the
    caller has its own outcome to report)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task

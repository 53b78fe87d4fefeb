"""An IoTgo server for the tests, written from the behaviour of ITEAD's server (``protocol/`` and
``db/`` of itead/IoTgo): what it checks, how it looks devices up, whom it pushes to.

- Every request needs ``action``, a UUID ``apikey`` and a 10-hex-digit ``deviceid``, else 400.
- ``register``: the (factory apikey, deviceid) pair must be a factory device (403), and the device
  must belong to a user (404); the answer carries the owner's apikey (an older server's answer
  echoes the factory key instead: ``register_gives_owner_key = False``).
- ``update`` / ``query``: the device is looked up by (apikey, deviceid): only the owner's key
  finds it (403). ``update`` needs object params that pass the device type's check (400) and
  merges them (``replace_params`` replaces them, as an older server did); ``query`` needs a list.
- Answers echo ``deviceid``, ``apikey`` (unless the answer has its own) and ``sequence``; to a
  factory-range device on the WebSocket, ``true``/``false``/empty values are sent as 1/0/0.
- A device is online on the WebSocket that carried its last successful request. An app's change
  to a factory-range id is pushed there (503 offline, 504 no answer in 3 s) and stored only when
  the device answered error 0; a change to a DIY id is only stored, for the device to query.
- HTTP (``POST /api/http``) answers a Host other than the server's or a Content-Type other than
  ``application/json`` with status 400 and no body.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.conftest import free_port

_APIKEY = re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")
_DEVICEID = re.compile(r"[0-9a-f]{10}")
_ON_OFF = re.compile(r"^on|off$")  # the server's own pattern: anything starting "on" or ending "off"


@dataclass
class Device:
    """A device that belongs to a user: its owner's key and its params."""

    deviceid: str
    owner_apikey: str
    params: dict[str, Any] = field(default_factory=dict)
    socket: web.WebSocketResponse | None = None  # where it is online
    updates: list[dict[str, Any]] = field(default_factory=list)  # params of the updates it sent
    queries: int = 0


class IotgoServer:
    """Serve the IoTgo device API on a free loopback port."""

    host = "127.0.0.1"  # the server's configured host: HTTP requests must name exactly this one

    def __init__(self, *, replace_params: bool = False) -> None:
        self.port = free_port()
        self.replace_params = replace_params
        self.register_gives_owner_key = True  # False: an older server, whose answer echoes the request's key
        self.factory: dict[str, str] = {}  # deviceid -> factory apikey
        self.devices: dict[str, Device] = {}
        self.registered: dict[str, int] = {}  # deviceid -> successful registrations
        self.refused: list[dict[str, Any]] = []  # every request answered with an error, and the error
        self.accept_websocket = True
        self.answer_updates = True  # False: updates get no answer (the client's timeout)
        self.http_requests: list[dict[str, Any]] = []
        self._sequence = itertools.count(1)
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None

    def add_factory(self, deviceid: str, factory_apikey: str) -> None:
        """A device made in the factory, not yet bound to a user (its register answers 404)."""
        self.factory[deviceid] = factory_apikey

    def add(self, deviceid: str, owner_apikey: str, factory_apikey: str | None = None) -> Device:
        """A device of a user (a factory device bound to that user when ``factory_apikey`` is given)."""
        if factory_apikey is not None:
            self.add_factory(deviceid, factory_apikey)
        device = Device(deviceid, owner_apikey)
        self.devices[deviceid] = device
        return device

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/ws", self._websocket)
        app.router.add_post("/api/http", self._http)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop_connections(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        for device in self.devices.values():
            device.socket = None

    async def app_update(self, deviceid: str, params: Any, timeout: float = 3.0) -> dict[str, Any]:
        """An app's change, as the server takes it: pushed to a factory-range device (stored when it
        answered 0), stored for a DIY device to query."""
        device = self.devices.get(deviceid)
        request = {"action": "update", "deviceid": deviceid, "userAgent": "app", "params": params,
                   "apikey": device.owner_apikey if device is not None else ""}
        if not _is_factory_id(deviceid):
            return self._update(request)
        if not _is_object(params) or not _type_ok(deviceid, params):
            return _answer(request, error=400)
        if device is None:
            return _answer(request, error=403)
        if device.socket is None or device.socket.closed:
            return _answer(request, error=503)
        sequence = str(next(self._sequence))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[sequence] = future
        await device.socket.send_str(json.dumps({**request, "sequence": sequence, "params": _sent_params(params)}))
        try:
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return _answer(request, error=504, sequence=sequence)
        finally:
            self._answers.pop(sequence, None)
        return self._update(request) if answer.get("error") == 0 else answer

    def answer(self, request: dict[str, Any], socket: web.WebSocketResponse | None = None) -> dict[str, Any] | None:
        """Handle one device request as the server would; None when it goes unanswered."""
        if not _valid(request) or request["action"] not in ("register", "update", "query", "date"):
            reply = _answer(request, error=400)
        elif request["action"] == "update" and not self.answer_updates:
            return None
        else:
            reply = getattr(self, "_" + request["action"])(request)
        if reply["error"]:
            self.refused.append({**request, "answered": reply["error"]})
        elif socket is not None and request.get("userAgent", "device") == "device":
            device = self.devices.get(request["deviceid"])
            if device is not None:
                device.socket = socket  # online where its last request came from
        return reply

    def _register(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.factory.get(request["deviceid"]) != request["apikey"]:
            return _answer(request, error=403)
        device = self.devices.get(request["deviceid"])
        if device is None:
            return _answer(request, error=404)  # made, not yet bound to a user
        self.registered[device.deviceid] = self.registered.get(device.deviceid, 0) + 1
        return _answer(request, error=0, **({"apikey": device.owner_apikey} if self.register_gives_owner_key else {}))

    def _update(self, request: dict[str, Any]) -> dict[str, Any]:
        params = request.get("params")
        if not _is_object(params) or not _type_ok(request["deviceid"], params):
            return _answer(request, error=400)
        device = self._owned(request)
        if device is None:
            return _answer(request, error=403)
        if isinstance(params, dict):
            device.params = dict(params) if self.replace_params else {**device.params, **params}
            if request.get("userAgent", "device") == "device":
                device.updates.append(params)
        return _answer(request, error=0)

    def _query(self, request: dict[str, Any]) -> dict[str, Any]:
        names = request.get("params")
        if not isinstance(names, list):
            return _answer(request, error=400)
        device = self._owned(request)
        if device is None:
            return _answer(request, error=403)
        device.queries += 1
        chosen = device.params if not names else {n: device.params[n] for n in names
                                                  if isinstance(n, str) and n in device.params}
        return _answer(request, error=0, params=dict(chosen))

    def _date(self, request: dict[str, Any]) -> dict[str, Any]:
        return _answer(request, error=0, date="2026-11-22T00:00:00.000Z")

    def _owned(self, request: dict[str, Any]) -> Device | None:
        device = self.devices.get(request["deviceid"])
        return device if device is not None and device.owner_apikey == request["apikey"] else None

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.accept_websocket:
            raise web.HTTPServiceUnavailable()
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    continue  # the server ignores what is not JSON
                if not isinstance(data, dict):
                    continue
                if data.get("action") and data.get("deviceid") and data.get("apikey"):
                    reply = self.answer(data, socket)
                    if reply is not None:
                        if _is_factory_id(str(data.get("deviceid"))) and data.get("userAgent", "device") == "device":
                            reply = _as_sent_to_devices(reply)
                        await socket.send_str(json.dumps(reply))
                elif (isinstance(data.get("error"), int) and (future := self._answers.get(str(data.get("sequence"))))
                      and not future.done()):
                    future.set_result(data)  # a device answering a push
        finally:
            self._sockets.discard(socket)
            for device in self.devices.values():
                if device.socket is socket:
                    device.socket = None  # offline
        return socket

    async def _http(self, request: web.Request) -> web.Response:
        if request.headers.get("Host") != self.host or request.headers.get("Content-Type") != "application/json":
            return web.Response(status=400)
        data = await request.json()
        self.http_requests.append(data)
        return web.json_response(self.answer(data) or {"error": 504})


def _valid(request: dict[str, Any]) -> bool:
    return (bool(request.get("action")) and isinstance(request.get("apikey"), str)
            and bool(_APIKEY.fullmatch(request["apikey"])) and isinstance(request.get("deviceid"), str)
            and bool(_DEVICEID.fullmatch(request["deviceid"])))


def _is_factory_id(deviceid: str) -> bool:
    return len(deviceid) > 2 and deviceid[2] in "89abcdef"


def _is_object(params: Any) -> bool:
    """JavaScript's ``typeof params === 'object'``: objects, arrays and null."""
    return params is None or isinstance(params, dict | list)


def _type_ok(deviceid: str, params: Any) -> bool:
    """``protocol/types.js``: switch (01) and light (02) on/off, sensor (03) numeric."""
    if not isinstance(params, dict):
        return deviceid[:2] not in ("01", "02", "03")
    kind = deviceid[:2]
    if kind in ("01", "02"):
        name = "switch" if kind == "01" else "light"
        if params.get("timers"):
            return isinstance(params["timers"], list)
        return name in params and bool(_ON_OFF.search(_js_string(params[name])))
    if kind == "03":
        return all(name in params and _js_number(params[name]) for name in ("humidity", "temperature"))
    return True


def _js_string(value: Any) -> str:
    """What JavaScript's ``String(value)`` gives for a JSON value (enough for the on/off check)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _js_number(value: Any) -> bool:
    """``! isNaN(Number(value))``."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return not math.isnan(value)
    if isinstance(value, str):
        try:
            number = float(value.strip() or "0")
        except ValueError:
            return False
        return not math.isnan(number)  # JavaScript's Number("nan") is NaN too
    return False


def _answer(request: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``interceptors.js``: the answer echoes deviceid, apikey (unless it has its own) and sequence."""
    reply = dict(fields)
    for name in ("deviceid", "apikey"):
        if request.get(name) and name not in reply:
            reply[name] = request[name]
    if "sequence" in request and "sequence" not in reply:
        reply["sequence"] = request["sequence"]
    return reply


def _sent_params(params: Any) -> Any:
    """``transformRequest``: empty params are sent as 0."""
    return 0 if isinstance(params, dict) and not params else params


def _as_sent_to_devices(value: Any) -> Any:
    """``transformResponse``: true/false/null become 1/0/0 and empty objects and lists 0."""
    if isinstance(value, dict):
        return {k: _as_sent_to_devices(v) for k, v in value.items()} if value else 0
    if isinstance(value, list):
        return [_as_sent_to_devices(v) for v in value] if value else 0
    if value is True:
        return 1
    if value is False or value is None:
        return 0
    return value

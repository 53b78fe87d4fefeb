"""An IoTgo server for the tests, written from the protocol: WebSocket at /api/ws, HTTP at
/api/http, factory registration, shallow-merged params, pushes to devices with a 3 s answer."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.conftest import free_port


@dataclass
class Device:
    """A device the server knows: its factory key, its owner's key, its params."""

    deviceid: str
    factory_apikey: str
    owner_apikey: str
    params: dict[str, Any] = field(default_factory=dict)
    socket: web.WebSocketResponse | None = None
    registered: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)


class IotgoServer:
    """Serve the IoTgo device API on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.devices: dict[str, Device] = {}
        self.accept_websocket = True
        self.answer_updates = True  # False: updates get no answer (the client's timeout)
        self.refuse_updates_with: int | None = None
        self.http_requests: list[dict[str, Any]] = []
        self._sequence = itertools.count(1)
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None

    def add(self, deviceid: str, factory_apikey: str, owner_apikey: str) -> Device:
        device = Device(deviceid, factory_apikey, owner_apikey)
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
        for device in self.devices.values():
            if device.socket is not None:
                await device.socket.close()
                device.socket = None

    async def push(self, deviceid: str, params: dict[str, Any], timeout: float = 3.0) -> dict[str, Any]:
        """Send an app's change to a device; return its answer (error 504 when none comes in time)."""
        device = self.devices[deviceid]
        if device.socket is None or device.socket.closed:
            return {"error": 503, "deviceid": deviceid}
        sequence = str(next(self._sequence))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[sequence] = future
        await device.socket.send_str(json.dumps({"action": "update", "deviceid": deviceid,
                                                 "apikey": device.owner_apikey, "params": params,
                                                 "sequence": sequence, "userAgent": "app"}))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return {"error": 504, "deviceid": deviceid, "sequence": sequence}
        finally:
            self._answers.pop(sequence, None)

    def answer(self, request: dict[str, Any], socket: web.WebSocketResponse | None = None) -> dict[str, Any] | None:
        """Handle one device request as the server would; None when it goes unanswered."""
        echo = {"deviceid": request.get("deviceid"), "apikey": request.get("apikey"),
                "sequence": request.get("sequence")}
        action, device = request.get("action"), self.devices.get(str(request.get("deviceid")))
        if action not in ("register", "update", "query", "date") or "deviceid" not in request:
            return {**echo, "error": 400}
        if device is None:
            return {**echo, "error": 404}
        if action == "register":
            if request.get("apikey") != device.factory_apikey:
                return {**echo, "error": 403}
            device.registered += 1
            if socket is not None:
                device.socket = socket
            return {**echo, "error": 0, "apikey": device.owner_apikey}
        if request.get("apikey") != device.owner_apikey:
            return {**echo, "error": 403}
        if socket is not None:
            device.socket = socket
        if action == "update":
            if not self.answer_updates:
                return None
            if self.refuse_updates_with is not None:
                return {**echo, "error": self.refuse_updates_with}
            if not isinstance(request.get("params"), dict):
                return {**echo, "error": 400}
            device.params.update(request["params"])  # shallow merge
            device.updates.append(request["params"])
            return {**echo, "error": 0}
        if action == "query":
            names = request.get("params") or list(device.params)
            return {**echo, "error": 0, "params": {k: device.params[k] for k in names if k in device.params}}
        return {**echo, "error": 0, "date": "2026-11-22T00:00:00.000Z"}

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.accept_websocket:
            raise web.HTTPServiceUnavailable()
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "error" in data and (future := self._answers.get(str(data.get("sequence")))) is not None:
                future.set_result(data)  # a device answering a push
                continue
            reply = self.answer(data, socket)
            if reply is not None:
                await socket.send_str(json.dumps(reply))
        return socket

    async def _http(self, request: web.Request) -> web.Response:
        if not request.headers.get("Host") or request.content_type != "application/json":
            return web.json_response({"error": 400})
        data = await request.json()
        self.http_requests.append(data)
        return web.json_response(self.answer(data) or {"error": 504})

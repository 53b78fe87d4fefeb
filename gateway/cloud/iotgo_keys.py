"""Which apikey each IoTgo device's requests go with, and which devices must wait for one.

The server finds a device by the pair (owner's apikey, deviceid) and answers 403 to any other
key. A factory device is configured with its factory (license) key, which only ``register``
takes: register answers with the owner's key once the device is bound to a user, 404 before.
So a factory device sends nothing but ``register`` until it holds the owner's key, and its
updates wait in the outbox meanwhile: sent with the factory key they would be refused, and a
refusal that comes from our key state must not cost the readings.

A DIY device is configured with its owner's key; a ``query`` of no params checks it on every
connection (and, as any successful request, marks the device online on that WebSocket). A device
whose key the server does not take waits too, and is asked again with backoff (1 s doubling up
to 60 s) while the others go on: one device's refusal never holds up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.config.schema import IotgoDevice
from gateway.core.backoff import Backoff

log = logging.getLogger("gateway.cloud")

Request = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]  # one request, over the WebSocket or HTTP
KEY_REFUSED = (403, 404)  # the server does not find the device with the key it was sent with


class IotgoRefused(Exception):
    """The server answered a request with a non-zero error."""

    def __init__(self, error: int, request: str) -> None:
        super().__init__(f"{request}: error {error}")
        self.error = error


class DeviceKeys:
    """The key each device sends with, once the server has taken it; why the others wait."""

    def __init__(self, cloud_name: str, devices: Sequence[IotgoDevice]) -> None:
        self._cloud_name = cloud_name
        self._devices = {d.deviceid: d for d in devices}
        self._keys: dict[str, str] = {}
        self.waiting = {d.deviceid: "the server has not been asked yet" for d in devices}  # deviceid -> why
        self._backoff = {d.deviceid: Backoff(base=1.0, cap=60.0) for d in devices}
        self._next_try: dict[str, float] = {}
        self.ready = asyncio.Event()  # a device may send again: its waiting updates go, oldest first
        self._wake = asyncio.Event()

    def key(self, deviceid: str) -> str | None:
        """Return the key to send ``deviceid``'s requests with, None while it waits."""
        return self._keys.get(deviceid)

    def refused(self, deviceid: str, error: int, action: str) -> None:
        """The server no longer takes the device's key (``error`` to ``action``): wait, ask again
        after the device's backoff (a register that works followed by an update that does not
        must not loop at the speed of the network)."""
        self._keys.pop(deviceid, None)
        self._wait(deviceid, f"the server no longer takes its apikey ({action} answered {error})")
        self._next_try[deviceid] = time.monotonic() + self._backoff[deviceid].next_delay()
        self._wake.set()

    def took(self, deviceid: str) -> None:
        """The server took an update or query with the device's key: its backoff starts over."""
        self._backoff[deviceid].reset()

    async def announce_all(self, request: Request) -> None:
        """On a new connection: register every factory device, check every other device's key."""
        for deviceid in self._devices:
            await self._announce(deviceid, request)

    async def announce_due(self, request: Request) -> None:
        """Ask again for the waiting devices whose backoff has run out."""
        now = time.monotonic()
        for deviceid in list(self.waiting):
            if self._next_try.get(deviceid, 0.0) <= now:
                await self._announce(deviceid, request)

    async def keep_asking(self, request: Request) -> None:
        """Until cancelled, ask again for each waiting device when its backoff runs out."""
        while True:
            await self.announce_due(request)
            due = [self._next_try.get(d, 0.0) for d in self.waiting]
            delay = max(0.05, min(due) - time.monotonic()) if due else 60.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _announce(self, deviceid: str, request: Request) -> None:
        """One attempt; a refusal makes the device wait, a lost connection is the caller's."""
        device = self._devices[deviceid]
        action = "register" if device.factory else "query"
        body: dict[str, Any] = {"action": action, "deviceid": deviceid, "apikey": device.apikey}
        if not device.factory:
            body["params"] = []
        try:
            answer = await request(body)
        except IotgoRefused as exc:
            self._keys.pop(deviceid, None)
            self._wait(deviceid, _why(action, exc.error))
            self._next_try[deviceid] = time.monotonic() + self._backoff[deviceid].next_delay()
            return
        owner = answer.get("apikey") if device.factory else device.apikey
        if not isinstance(owner, str) or not owner or (device.factory and owner == device.apikey):
            self._keys.pop(deviceid, None)
            self._wait(deviceid, "register answered without the owner's apikey")
            self._next_try[deviceid] = time.monotonic() + self._backoff[deviceid].next_delay()
            return
        self._keys[deviceid] = owner
        self._next_try.pop(deviceid, None)
        if self.waiting.pop(deviceid, None) is not None:
            if device.factory:
                log.info("%s: %s registered; its updates go with its owner's apikey", self._cloud_name, deviceid)
            self.ready.set()

    def _wait(self, deviceid: str, why: str) -> None:
        if self.waiting.get(deviceid) != why:
            log.warning("%s: %s waits, its updates kept: %s", self._cloud_name, deviceid, why)
        self.waiting[deviceid] = why


def _why(action: str, error: int) -> str:
    if action == "register":
        return {403: "the server has no factory device with this id and apikey (register answered 403)",
                404: "the device is not bound to a user yet (register answered 404)"}.get(
            error, f"register answered {error}")
    if error in KEY_REFUSED:
        return f"the server finds no device with this id and apikey (query answered {error})"
    return f"query answered {error}"

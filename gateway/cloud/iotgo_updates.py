"""Turn an IoTgo cloud's device mappings into updates: every ``update_interval``, each device
whose good readings changed gets one ``update`` with its params, through the outbox. A device of
a type the server checks (switch, light, sensor) is updated only when every param its type
requires has a good reading."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from gateway.config import Cloud, Measure
from gateway.config.iotgo_rules import device_type, on_off_params
from gateway.core.clock import REAL_CLOCK, Clock
from gateway.core.errors import StoreError
from gateway.core.latest import LatestValues
from gateway.core.messages import OutgoingMessage
from gateway.core.tasks import stop_if_cancelled
from gateway.store import Outbox

log = logging.getLogger("gateway.cloud")


class IotgoUpdates:
    """Queues the params of one iotgo cloud's devices when they change."""

    def __init__(self, cloud: Cloud, devices: Mapping[str, list[Measure]], latest: LatestValues, outbox: Outbox,
                 *, clock: Clock = REAL_CLOCK) -> None:
        self._cloud, self._devices, self._latest, self._outbox, self._clock = cloud, devices, latest, outbox, clock
        self._sent: dict[str, dict[str, Any]] = {}
        self._on_off = {deviceid: on_off_params(deviceid, measures) for deviceid, measures in devices.items()}
        self._required = {deviceid: kind.required if (kind := device_type(deviceid)) else ()
                          for deviceid in devices}

    async def run(self) -> None:
        """Queue changed params every ``update_interval`` until cancelled."""
        while True:
            stop_if_cancelled()
            await self._clock.sleep(self._cloud.update_interval)
            try:
                await self.queue_changes()
            except StoreError as exc:
                log.error("%s: updates not queued: %s", self._cloud.name, exc)

    async def queue_changes(self) -> int:
        """Queue one update per device whose params changed; return how many were queued."""
        messages = []
        for deviceid in self._devices:
            params = self.params(deviceid)
            if params and params != self._sent.get(deviceid):
                self._sent[deviceid] = params
                messages.append(OutgoingMessage(self._cloud.name, deviceid, json.dumps(params).encode(), 1))
        if messages:
            await self._outbox.enqueue(messages)
        return len(messages)

    def params(self, deviceid: str) -> dict[str, Any]:
        """The device's params from its measures' good readings; empty while a param its type
        requires has none (the server would refuse the update)."""
        params = {}
        on_off = self._on_off[deviceid]
        for measure in self._devices[deviceid]:
            reading = self._latest.get(measure.controller, measure.name)
            if reading.status == 1:
                value = reading.value
                params[measure.name] = ("on" if value else "off") if measure.name in on_off else value
        if any(name not in params for name in self._required[deviceid]):
            return {}
        return params

"""An app's changes to a DIY IoTgo device, found by asking: the server never pushes to a DIY id.

The server keeps one params object per device: what the device last reported and what an app
last set, whichever came last. So a DIY device's ``rw`` params are asked for (``query``) every
``query_interval``, and before each update of the device (an update would overwrite a change not
yet seen). A value that differs from what the gateway last reported (an update the server took)
is an app's change: it is written to the PLC through the write checks and reported back with
``update``, the written value if the PLC took it, its reading if not. What was last reported is
kept in ``data_dir`` (at most every 30 s and at stop), so a change made while the gateway was
down is written when it is back; a param never reported is taken as it is the first time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config import Measure
from gateway.config.iotgo_rules import is_factory_id, plc_request
from gateway.config.save import write_atomically

from .iotgo_keys import Request

log = logging.getLogger("gateway.cloud")

Write = Callable[[Mapping[str, Any]], Awaitable[list[dict[str, Any]]]]  # PlcWriter.apply
SAVE_EVERY = 30.0


class AppChanges:
    """Finds, writes and reports back the app's changes to the DIY devices' rw measures."""

    def __init__(self, cloud_name: str, devices: Mapping[str, list[Measure]], write: Write,
                 state_file: Path | None) -> None:
        self._cloud_name, self._write, self._state_file = cloud_name, write, state_file
        writable = {deviceid: {m.name: m for m in measures if m.access == "rw"}
                    for deviceid, measures in devices.items()}
        self.asked = {deviceid: rw for deviceid, rw in writable.items() if rw and not is_factory_id(deviceid)}
        self._reported: dict[str, dict[str, Any]] = _load(state_file)
        self._dirty, self._saved_at = False, time.monotonic()
        self._last_query: dict[str, float] = {}
        self.locks = {deviceid: asyncio.Lock() for deviceid in self.asked}  # a query and the update after it

    def reported(self, deviceid: str, params: Mapping[str, Any]) -> None:
        """The server took an update of ``deviceid`` with ``params``: that is what it now holds."""
        rw = self.asked.get(deviceid)
        if not rw:
            return
        known = self._reported.setdefault(deviceid, {})
        for name, value in params.items():
            if name in rw and known.get(name, _NOTHING) != value:
                known[name] = value
                self._dirty = True

    def due(self, interval: float) -> list[str]:
        """The devices not asked for ``interval`` seconds."""
        now = time.monotonic()
        return [d for d in self.asked if now - self._last_query.get(d, float("-inf")) >= interval]

    async def take(self, deviceid: str, apikey: str, request: Request) -> Taken:
        """Ask for the device's rw params and write the app's changes; hold ``locks[deviceid]``
        around this and the update that reports them back."""
        rw = self.asked[deviceid]
        answer = await request({"action": "query", "deviceid": deviceid, "apikey": apikey, "params": list(rw)})
        self._last_query[deviceid] = time.monotonic()
        held = answer.get("params")
        if not isinstance(held, dict):  # the server sends an empty object as 0
            return Taken()
        known = self._reported.setdefault(deviceid, {})
        changed = {}
        for name, value in held.items():
            if name not in rw:
                continue
            if name not in known:
                known[name], self._dirty = value, True  # never reported: taken as it is
            elif known[name] != value:
                changed[name] = value
        if not changed:
            return Taken()
        results = await self._write(plc_request(deviceid, rw, changed))
        written = {r["var_name"]: changed[r["var_name"]] for r in results
                   if r["result"] == "OK" and r["var_name"] in changed}
        for name in changed.keys() - written.keys():
            log.warning("%s: the app's change of %s.%s to %.80r was not written; its reading is reported back",
                        self._cloud_name, deviceid, name, changed[name])
        if written:
            log.info("%s: wrote the app's change of %s: %s", self._cloud_name, deviceid,
                     ", ".join(f"{n}={v!r:.80}" for n, v in written.items()))
        for name, value in changed.items():
            known[name] = value  # seen: a refused value is not tried again until the app changes it
        self._dirty = True
        return Taken(written, sorted(changed.keys() - written.keys()))

    def save(self, *, now: bool = False) -> None:
        """Keep what was last reported, at most every 30 s unless ``now``."""
        if self._state_file is None or not self._dirty:
            return
        if not now and time.monotonic() - self._saved_at < SAVE_EVERY:
            return
        try:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self._state_file, json.dumps(self._reported), mode=0o600, keep_backup=False)
        except OSError as exc:
            log.warning("%s: what was reported to IoTgo could not be kept in %s: %s", self._cloud_name,
                        self._state_file, exc)
        self._dirty, self._saved_at = False, time.monotonic()


@dataclass
class Taken:
    """The app's changes found by one query: written to the PLC, or refused by it or its checks."""

    written: dict[str, Any] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.written or self.refused)


_NOTHING = object()


def _load(state_file: Path | None) -> dict[str, dict[str, Any]]:
    if state_file is None:
        return {}
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); the app's changes made while the gateway was down are not seen",
                    state_file, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(d): dict(p) for d, p in data.items() if isinstance(p, dict)}

"""Keep an AWS IoT device shadow (classic, unnamed) in step with the PLC.

- ``reported``: every ``interval`` the shadow's measures that changed since they were last
  reported go out in one update (good readings only), through the outbox like every message.
- ``desired``: a ``/update/delta`` (or the delta of a ``get``) writes the ``rw`` measures through
  the same checks as ``write_plc_values``, then reports the values written; a written measure is
  reported again only from a reading taken after the write.
- On every connection the shadow is fetched (``get``) to learn its version, what is already
  reported and any desired change made while the gateway was away.
- ``version`` orders deltas: one older than the last delta or fetched document applied is
  ignored. ``clientToken`` marks our own requests.
  Rejections: 409 (version conflict) fetches the shadow again and re-reports; 413 (too large) is
  logged; 429 (throttled) re-sends after a pause.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from gateway.collect.writes import AttributedWriter
from gateway.config import Cloud, Measure
from gateway.core.errors import StoreError
from gateway.core.latest import LatestValues
from gateway.core.messages import OutgoingMessage
from gateway.core.publish_limits import shadow_prefix
from gateway.core.tasks import stop_if_cancelled
from gateway.store import Outbox

log = logging.getLogger("gateway.shadow")

THROTTLE_PAUSE = 5.0


class ShadowSync:
    """The shadow of one thing: what was reported, the shadow's version, and the handlers."""

    def __init__(self, cloud: Cloud, measures: Sequence[Measure], latest: LatestValues, writer: AttributedWriter,
                 outbox: Outbox) -> None:
        assert cloud.shadow is not None and cloud.client_id
        self._cloud, self._settings = cloud, cloud.shadow
        self._measures = {m.name: m for m in measures}
        self._latest, self._writer, self._outbox = latest, writer, outbox
        self._base = shadow_prefix(cloud.client_id).rstrip("/")
        self._reported: dict[str, Any] = {}
        # a measure the shadow wrote -> when: until a reading taken after that comes in, the latest
        # value is the one from before the write, and reporting it would undo the desired change
        self._written_at: dict[str, float] = {}
        self._version = 0
        self._tokens: set[str] = set()
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(100)
        self._throttled_until = 0.0

    def subscriptions(self) -> list[tuple[str, int]]:
        """Return the shadow topics the connector must subscribe to."""
        return [(f"{self._base}/{path}", 1) for path in
                ("update/delta", "update/accepted", "update/rejected", "get/accepted", "get/rejected")]

    def owns(self, topic: str) -> bool:
        """Return True for the shadow's own response topics."""
        return topic.startswith(self._base + "/")

    def receive(self, topic: str, payload: bytes) -> None:
        """Queue a shadow response (called on the event loop)."""
        try:
            self._inbox.put_nowait((topic, payload))
        except asyncio.QueueFull:
            log.warning("%s: shadow responses arrive faster than handled; dropped one on %s", self._cloud.name, topic)

    async def connected(self) -> None:
        """Fetch the shadow on every new connection."""
        await self._send("get", {})

    async def run(self) -> None:
        """Report changes every interval and handle the shadow's responses, until cancelled."""
        while True:
            stop_if_cancelled()
            try:
                topic, payload = await asyncio.wait_for(self._inbox.get(), self._settings.interval)
                await self._handle(topic, payload)
            except TimeoutError:
                pass
            except Exception:  # one bad response must not stop the shadow
                log.exception("%s: handling a shadow response failed", self._cloud.name)
            if time.monotonic() >= self._throttled_until:
                try:
                    await self.report_changes()
                except StoreError as exc:  # reported again at the next interval
                    log.error("%s: shadow report not stored: %s", self._cloud.name, exc)

    async def report_changes(self) -> None:
        """Report the shadow measures whose good value changed since they were last reported."""
        changed = {}
        for name, measure in self._measures.items():
            reading = self._latest.get(measure.controller, name)
            if name in self._written_at:
                if reading.timestamp <= self._written_at[name]:
                    continue
                del self._written_at[name]
            if reading.status == 1 and self._reported.get(name, _UNSET) != reading.value:
                changed[name] = reading.value
        if changed:
            await self._report(changed)

    async def _report(self, values: dict[str, Any]) -> None:
        await self._send("update", {"state": {"reported": values}})
        self._reported.update(values)  # only once stored: a report that failed is made again

    async def _send(self, action: str, body: dict[str, Any]) -> None:
        token = uuid.uuid4().hex[:16]
        self._tokens.add(token)
        body = {**body, "clientToken": token}
        if action == "update" and self._settings.timestamp:
            body["timestamp"] = int(time.time() * 1000)
        topic = f"{self._base}/{action}"
        await self._outbox.enqueue([OutgoingMessage(self._cloud.name, topic, json.dumps(body).encode(), 1)])

    async def _handle(self, topic: str, payload: bytes) -> None:
        document = json.loads(payload)
        kind = topic[len(self._base) + 1:]
        version = int(document.get("version", 0) or 0)
        if kind == "update/delta":
            if version and version <= self._version:
                log.debug("%s: ignoring shadow delta version %d (have %d)", self._cloud.name, version, self._version)
                return
            self._version = max(self._version, version)
            await self._apply_desired(document.get("state", {}))
        elif kind == "get/accepted":
            self._version = max(self._version, version)
            state = document.get("state", {})
            self._reported = dict(state.get("reported", {}))
            if state.get("delta"):
                await self._apply_desired(state["delta"])
        elif kind == "update/accepted":
            # not a reason to skip later deltas: the accepted answer of the cloud's own desired change
            # carries the same version as the delta that follows it
            self._tokens.discard(document.get("clientToken", ""))
        elif kind.endswith("/rejected"):
            await self._rejected(kind, document)

    async def _apply_desired(self, desired: dict[str, Any]) -> None:
        writable = {k: v for k, v in desired.items() if k in self._measures and self._measures[k].access == "rw"}
        ignored = sorted(set(desired) - set(writable))
        if ignored:
            log.warning("%s: shadow asks to change %s, which are not writable measures of the shadow",
                        self._cloud.name, ", ".join(ignored))
        if not writable:
            return
        results = await self._writer.apply(writable)
        written = {r["var_name"]: r["value"] for r in results if r["result"] == "OK"}
        self._written_at.update(dict.fromkeys(written, time.time()))
        for failed in (r for r in results if r["result"] != "OK"):
            log.warning("%s: shadow change of %s refused: %s", self._cloud.name, failed["var_name"], failed["error"])
        if written:
            log.info("%s: shadow wrote %s", self._cloud.name, ", ".join(f"{k}={v!r}" for k, v in written.items()))
            await self._report(written)

    async def _rejected(self, kind: str, document: dict[str, Any]) -> None:
        code = int(document.get("code", 0) or 0)
        self._tokens.discard(document.get("clientToken", ""))
        if kind == "get/rejected" and code == 404:
            self._reported.clear()  # no shadow yet: the next report creates it
        elif code == 409:
            log.info("%s: shadow version conflict; fetching it again", self._cloud.name)
            self._reported.clear()
            await self._send("get", {})
        elif code == 413:
            log.error("%s: shadow update too large for AWS IoT (%s)", self._cloud.name, document.get("message", ""))
        elif code == 429:
            log.warning("%s: shadow updates throttled; pausing %g s", self._cloud.name, THROTTLE_PAUSE)
            self._reported.clear()
            self._throttled_until = time.monotonic() + THROTTLE_PAUSE
        else:
            log.error("%s: shadow %s: %s %s", self._cloud.name, kind, code, document.get("message", ""))


_UNSET = object()

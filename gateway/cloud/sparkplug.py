"""The gateway as a Sparkplug B edge node (a cloud of ``type: sparkplug``): each controller is a
device, each of its measures a metric, in the topic namespace ``spBv1.0/<group>/<type>/<node>``.

- On each connection the MQTT will is an NDEATH with a new ``bdSeq`` (kept in ``data_dir``
  across restarts); the NBIRTH (``seq`` 0, the same ``bdSeq``, ``Node Control/Rebirth``) and a
  DBIRTH per device with every metric (name, alias, datatype, value) go out before anything else.
- A poll's changes (noted by :meth:`LatestValues.watch`, nothing polls the store) become DDATA
  with the metrics that moved past their measure's deadband, by alias, committed to the outbox:
  store and forward as for every cloud. ``seq`` is stamped when a message is sent, so the
  sequence stays whole across outages; what waited through one goes after the new births with
  its metrics marked ``is_historical``.
- A device is born (DBIRTH) with its first good reading, and dies (DDEATH) when no metric of it
  reads any more; a DBIRTH again when it reads again.
- NCMD ``Node Control/Rebirth`` sends the births again; DCMD writes its metrics (by name or
  alias) to the PLC through the write checks. The next poll reports what the PLC holds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gateway.config.clouds import Cloud
from gateway.core.errors import CloudError, StoreError
from gateway.core.latest import LatestValues, Reading
from gateway.core.messages import OutgoingMessage
from gateway.services.access import is_good
from gateway.services.contract import ServedMeasure
from gateway.store import Outbox

from . import sparkplug_payload as sp

log = logging.getLogger("gateway.cloud")
NAMESPACE = "spBv1.0"
REBIRTH = "Node Control/Rebirth"


class Writer(Protocol):
    """The gateway's PLC writer."""

    async def apply(self, request: dict[str, dict[str, object]]) -> list[dict[str, object]]: ...


class Sender(Protocol):
    """What sends a message now (the cloud's connector)."""

    def send_now(self, topic: str, payload: bytes, qos: int) -> bool: ...


@dataclass
class _Metric:
    measure: ServedMeasure
    alias: int
    datatype: int
    reading: Reading
    deadband: float
    sent: Any = None  # the value last sent (births included)


@dataclass
class _Device:
    name: str
    metrics: list[_Metric] = field(default_factory=list)
    alive: bool = True


class SparkplugNode:
    """One edge node: births, data, deaths, commands and the session's sequence numbers."""

    def __init__(self, cloud: Cloud, node_id: str, measures: Sequence[tuple[ServedMeasure, float]],
                 latest: LatestValues, writer: Writer, outbox: Outbox, state_dir: Path) -> None:
        """``measures`` are the node's, each with its deadband."""
        assert cloud.sparkplug is not None
        self.cloud, self.group_id, self.node_id = cloud, cloud.sparkplug.group_id, node_id
        self._latest, self._writer, self._outbox = latest, writer, outbox
        self._bd_seq_file = state_dir / f"sparkplug-{cloud.name}.bdseq"
        self.bd_seq = -1  # the connection's; the first will() makes it the stored one plus one
        self._seq = 0
        self._birth_ms = 0  # when this session's NBIRTH went out: data from before it is historical
        self._sender: Sender | None = None
        self.devices: dict[str, _Device] = {}
        self._by_reading: dict[int, _Metric] = {}
        self._by_alias: dict[int, tuple[str, _Metric]] = {}
        for alias, (measure, deadband) in enumerate(measures, start=1):
            datatype = sp.STRING if measure.type is None else sp.SPARKPLUG_TYPE[measure.type]
            metric = _Metric(measure, alias, datatype, latest.get(measure.controller, measure.name), deadband)
            self.devices.setdefault(measure.controller, _Device(measure.controller)).metrics.append(metric)
            self._by_reading[id(metric.reading)] = metric
            self._by_alias[alias] = (measure.controller, metric)
        self._changed: set[int] = set()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # DCMD writes under way

    def attach(self, sender: Sender) -> None:
        """Send births, deaths and rebirths through ``sender`` (the connector)."""
        self._sender = sender

    def topic(self, kind: str, device: str | None = None) -> str:
        """Return the Sparkplug topic of a message type (for a device, when named)."""
        base = f"{NAMESPACE}/{self.group_id}/{kind}/{self.node_id}"
        return f"{base}/{device}" if device is not None else base

    def subscriptions(self) -> list[tuple[str, int]]:
        """Return the command topics the node listens to."""
        return [(self.topic("NCMD"), 1), (self.topic("DCMD") + "/+", 1)]

    def will(self) -> tuple[str, bytes, int, bool]:
        """Return the NDEATH for a new connection, with the next ``bdSeq`` (and keep that)."""
        if self.bd_seq < 0:
            self.bd_seq = _read_counter(self._bd_seq_file)
        self.bd_seq = (self.bd_seq + 1) % 256
        _write_counter(self._bd_seq_file, self.bd_seq)
        return self.topic("NDEATH"), sp.encode([sp.Metric("bdSeq", None, sp.UINT64, self.bd_seq)], _now_ms()), 1, False

    async def connected(self) -> None:
        """Send the births of a new session: NBIRTH with seq 0, then each device's DBIRTH."""
        self.births()

    def births(self) -> None:
        """Send NBIRTH (``seq`` 0) and a DBIRTH for each live device."""
        now = _now_ms()
        self._seq = 0
        self._birth_ms = now
        node = [sp.Metric("bdSeq", None, sp.UINT64, self.bd_seq), sp.Metric(REBIRTH, None, sp.BOOLEAN, False)]
        self._send(self.topic("NBIRTH"), sp.encode(node, now))
        for device in self.devices.values():
            device.alive = _any_good(device)  # one not read yet is born with its first reading
            if device.alive:
                self._send_dbirth(device, now)
        born = sum(device.alive for device in self.devices.values())
        log.info("%s: Sparkplug births sent (bdSeq %d, %d of %d device(s); the others with their first reading)",
                 self.cloud.name, self.bd_seq, born, len(self.devices))

    def prepare(self, topic: str, payload: bytes) -> bytes:
        """Stamp an outbox row with the session's next ``seq``; a row from before the session's
        births has its metrics marked historical. A row that is no Sparkplug payload (none should
        be: rules and functions cannot publish here) goes as it is."""
        if _timestamp_ms(payload) < self._birth_ms:
            try:
                payload = sp.historical(payload)
            except CloudError as exc:
                log.warning("%s: %s left as it was: %s", self.cloud.name, topic, exc)
                return payload
        return sp.with_seq(payload, self._next_seq())

    def changed(self, readings: list[Reading]) -> None:
        """Note the readings a poll changed (called inside the poller's recording: no waiting)."""
        found = False
        for reading in readings:
            if id(reading) in self._by_reading:
                self._changed.add(id(reading))
                found = True
        if found:
            self._wake.set()

    async def run(self) -> None:
        """Turn noted changes into DDATA (and device deaths and rebirths), until cancelled."""
        stop_watching = self._latest.watch(self.changed)
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                changed, self._changed = self._changed, set()
                await self._report([self._by_reading[key] for key in changed])
        finally:
            stop_watching()
            self._goodbye()

    def _goodbye(self) -> None:
        """Publish the NDEATH before the gateway disconnects on purpose (the broker sends the will
        only when a connection is lost)."""
        if self._sender is not None and self.bd_seq >= 0:
            death = sp.encode([sp.Metric("bdSeq", None, sp.UINT64, self.bd_seq)], _now_ms())
            self._sender.send_now(self.topic("NDEATH"), death, 1)

    async def _report(self, metrics: list[_Metric]) -> None:
        now = _now_ms()
        by_device: dict[str, list[_Metric]] = {}
        for metric in metrics:
            by_device.setdefault(metric.measure.controller, []).append(metric)
        messages = []
        for name, touched in by_device.items():
            device = self.devices[name]
            if device.alive and not _any_good(device):
                device.alive = False
                self._send(self.topic("DDEATH", name), sp.encode([], now))
                continue
            if not device.alive:
                if _any_good(device):
                    device.alive = True
                    self._send_dbirth(device, now)
                continue
            moved = [m for m in touched if is_good(m.reading) and _moved(m)]
            if moved:
                for metric in moved:
                    metric.sent = metric.reading.value
                payload = sp.encode([sp.Metric(None, m.alias, m.datatype, m.reading.value, _ms(m.reading.timestamp))
                                     for m in moved], now)
                messages.append(OutgoingMessage(self.cloud.name, self.topic("DDATA", name), payload, 0))
        if messages:
            try:
                await self._outbox.enqueue(messages)
            except StoreError as exc:
                log.error("%s: %d Sparkplug message(s) could not be stored: %s", self.cloud.name, len(messages), exc)

    def on_message(self, _cloud: str, topic: str, payload: bytes) -> None:
        """Take a command: a rebirth request, or a device's writes (run as a task)."""
        try:
            _timestamp, _seq, metrics = sp.decode(payload)
        except CloudError as exc:
            log.warning("%s: %s on %s", self.cloud.name, exc, topic)
            return
        if topic == self.topic("NCMD"):
            if any(m.name == REBIRTH and m.value is True for m in metrics):
                log.info("%s: the host asked for a rebirth", self.cloud.name)
                self.births()
            return
        device = topic.rsplit("/", 1)[-1]
        if topic == self.topic("DCMD", device) and device in self.devices:
            task = asyncio.get_running_loop().create_task(self._write(device, metrics))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            log.warning("%s: a command on %s names no device of this node", self.cloud.name, topic)

    async def _write(self, device: str, metrics: list[sp.Metric]) -> None:
        names = {m.measure.name for m in self.devices[device].metrics}
        request: dict[str, object] = {}
        for metric in metrics:
            name = metric.name
            if name is None and metric.alias is not None and metric.alias in self._by_alias:
                owner, known = self._by_alias[metric.alias]
                name = known.measure.name if owner == device else None
            if name is None or name not in names:
                log.warning("%s: DCMD for %s names no metric of it (%s)", self.cloud.name, device,
                            metric.name or f"alias {metric.alias}")
                continue
            request[name] = metric.value
        if not request:
            return
        for result in await self._writer.apply({device: request}):
            log.info("%s: DCMD %s.%s = %r: %s%s", self.cloud.name, device, result.get("var_name"),
                     result.get("value"), result.get("result"), f" ({result['error']})" if result.get("error") else "")

    def _send_dbirth(self, device: _Device, now: int) -> None:
        metrics = []
        for metric in device.metrics:
            good = is_good(metric.reading)
            metric.sent = metric.reading.value if good else None
            metrics.append(sp.Metric(metric.measure.name, metric.alias, metric.datatype,
                                     metric.reading.value if good else None, now))
        self._send(self.topic("DBIRTH", device.name), sp.encode(metrics, now))

    def _send(self, topic: str, payload: bytes) -> None:
        """Send a birth or death now, with the next ``seq``; none goes while disconnected (the
        next connection's births tell the host everything)."""
        if self._sender is None:
            return
        seq = self._next_seq()
        if not self._sender.send_now(topic, sp.with_seq(payload, seq), 0):
            log.debug("%s: %s not sent (disconnected)", self.cloud.name, topic)

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) % 256
        return seq


def _moved(metric: _Metric) -> bool:
    value, sent = metric.reading.value, metric.sent
    if sent is None or type(value) is not type(sent) or isinstance(value, (bool, str)) or not metric.deadband:
        return bool(value != sent)
    try:
        return bool(abs(value - sent) > metric.deadband or math.isnan(value))
    except TypeError:
        return bool(value != sent)


def _any_good(device: _Device) -> bool:
    """Return True while some metric of the device reads (it is alive for Sparkplug)."""
    return any(is_good(m.reading) for m in device.metrics)


def _timestamp_ms(payload: bytes) -> int:
    """Read field 1 (``timestamp``), which the encoder writes first."""
    if not payload or payload[0] != 0x08:
        return 0
    value = shift = 0
    for byte in payload[1:11]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _read_counter(path: Path) -> int:
    try:
        return int(path.read_text().strip()) % 256
    except (OSError, ValueError):
        return -1


def _write_counter(path: Path, value: int) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    except OSError as exc:
        log.warning("cannot keep the Sparkplug bdSeq in %s: %s", path, exc)

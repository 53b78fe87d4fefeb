"""The gateway as a Modbus TCP slave: a SCADA or HMI reads the latest values at the addresses of
the map (:mod:`.slave_map`) and writes ``rw`` measures through to their PLCs.

pymodbus frames, parses and answers; this module is its datastore. A read answers from the
latest readings as they are (nothing is copied into a register image, so there is nothing to
keep in step); a write is made on the PLC first and answered only once the PLC took it.

Answers, by Modbus exception code:

- 2 (illegal data address): nothing is mapped in the range read; a write touches an address
  that holds no writable measure (a read-only one, a quality word, a gap) or only part of a
  value.
- 4 (server device failure): a read touches a bad value with ``on_bad: exception``; the PLC
  refused a write or did not answer it.
- 11 (gateway target failed to respond): a request for another unit id.

Inside a read, addresses between mapped values answer 0.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler

from gateway.core.errors import Problem
from gateway.services.access import DataAccess, is_good
from gateway.services.contract import DataService, ServedMeasure
from gateway.southbound import ByteOrder, DataType

from .addresses import Area
from .codec import decode, encode, reorder
from .slave_map import SlaveMap, Slot, address_text, build_map
from .slave_settings import ModbusServerSettings

log = logging.getLogger("gateway.services.modbus")

_AREA_OF = {1: Area.COIL, 5: Area.COIL, 15: Area.COIL, 2: Area.DISCRETE_INPUT, 4: Area.INPUT_REGISTER,
            3: Area.HOLDING_REGISTER, 6: Area.HOLDING_REGISTER, 16: Area.HOLDING_REGISTER,
            22: Area.HOLDING_REGISTER, 23: Area.HOLDING_REGISTER}
_CANNOT_ENCODE = (ValueError, TypeError, OverflowError, struct.error)
Words = list[int] | list[bool]


@dataclass
class SlaveCounters:
    """What the overview shows of the slave."""

    clients: int = 0
    requests: int = 0
    exceptions: int = 0
    writes: int = 0
    refused_clients: int = 0
    last_error: str = ""


class _Entry:
    """One slot as served: its reading (updated in place by the poller) and the words of its
    last good value, kept while the reading's version stays the same."""

    __slots__ = ("encode", "reading", "slot", "version", "words")

    def __init__(self, slot: Slot, access: DataAccess) -> None:
        self.slot = slot
        self.reading = access.reading(slot.controller, slot.measure)
        self.encode = _encoder(slot)
        self.version = -1
        self.words: list[int] = []


class SlaveDatastore(ModbusServerContext):
    """Answers pymodbus's reads and writes from the map and the latest readings."""

    def __init__(self, slave_map: SlaveMap, access: DataAccess, service: ModbusServerSettings,
                 counters: SlaveCounters) -> None:
        # Not the base class's __init__: that one builds a register image, which this store has none of.
        self.old_simulator = True  # pymodbus then calls the async_getValues/async_setValues below
        self.simdevices = []
        self._map, self._access, self._service, self._counters = slave_map, access, service, counters
        self._entries = {area: [_Entry(slot, access) for slot in area_map.slots]
                         for area, area_map in slave_map.areas.items()}
        self._substitutes: dict[Slot, list[int]] = {}

    def device_ids(self) -> list[int]:
        """Return the unit ids this slave answers."""
        return [self._service.unit_id]

    async def async_getValues(self, device_id: int, func_code: int, address: int,
                              count: int = 1) -> Words | ExcCodes:
        """Return ``count`` registers (or bits) from ``address`` of the area ``func_code`` reads."""
        self._check_unit(device_id)
        self._counters.requests += 1
        area = _AREA_OF.get(func_code)
        entries = self._entries[area][self._map.areas[area].span(address, count)] if area is not None else []
        if not entries:
            return self._exception(ExcCodes.ILLEGAL_ADDRESS)
        words: list[int] = [0] * count
        end = address + count
        for entry in entries:
            served = self._served(entry)
            if served is None:
                return self._exception(ExcCodes.DEVICE_FAILURE)
            offset = entry.slot.offset
            low, high = max(offset, address), min(offset + len(served), end)
            words[low - address:high - address] = served[low - offset:high - offset]
        return [bool(w) for w in words] if area is not None and area.is_bits else words

    async def async_setValues(self, device_id: int, func_code: int, address: int,
                              values: Sequence[int] | Sequence[bool]) -> ExcCodes | None:
        """Write the measures ``values`` cover on their PLCs, in address order; answer once done."""
        self._check_unit(device_id)
        self._counters.requests += 1
        area = _AREA_OF.get(func_code)
        entries = self._entries[area][self._map.areas[area].span(address, len(values))] if area is not None else []
        slots = [entry.slot for entry in entries]
        if (not slots or sum(slot.width for slot in slots) != len(values)
                or any(not slot.writable or slot.offset < address or slot.offset + slot.width > address + len(values)
                       for slot in slots)):
            return self._exception(ExcCodes.ILLEGAL_ADDRESS)
        for entry in entries:
            slot = entry.slot
            words = [int(v) for v in values[slot.offset - address: slot.offset - address + slot.width]]
            try:
                value = _decoded(slot, words)
            except _CANNOT_ENCODE as exc:
                log.warning("a write of %s.%s was refused: %s", slot.controller, slot.measure, exc)
                return self._exception(ExcCodes.ILLEGAL_VALUE)
            error = await self._access.write(slot.controller, slot.measure, value, by="a Modbus slave client")
            if error is not None:
                self._counters.last_error = f"write {slot.controller}.{slot.measure}: {error}"
                return self._exception(ExcCodes.DEVICE_FAILURE)
            self._counters.writes += 1
            # the PLC took it: serve what was written until the PLC is read again (a changed reading
            # has a new version), so a write's echo (function 6) is the value written
            entry.words, entry.version = words + [0] * slot.quality, entry.reading.version
        return None

    def _served(self, entry: _Entry) -> list[int] | None:
        """Return what ``entry`` holds now (its quality word after it), or None when the reading is
        bad and the service answers an exception for it."""
        reading = entry.reading
        if reading.version == entry.version and is_good(reading):
            return entry.words
        if is_good(reading):
            try:
                entry.words = entry.encode(reading.value) + [0] * entry.slot.quality
                entry.version = reading.version
                return entry.words
            except _CANNOT_ENCODE as exc:
                slot = entry.slot
                self._counters.last_error = (f"{slot.controller}.{slot.measure}: {reading.value!r} "
                                             f"is not served as {slot.point.dtype}: {exc}")
        if not entry.slot.quality:
            return None
        substitute = self._substitutes.get(entry.slot)
        if substitute is None:
            substitute = self._substitutes[entry.slot] = [*_encoder(entry.slot)(self._service.substitute), 1]
        return substitute

    def _check_unit(self, device_id: int) -> None:
        if self._service.unit_id and device_id != self._service.unit_id:
            self._counters.exceptions += 1
            raise NoSuchIdException(f"unit id {device_id}")

    def _exception(self, code: ExcCodes) -> ExcCodes:
        self._counters.exceptions += 1
        return code


_IN_ONE_PACK = (DataType.WORD, DataType.INT, DataType.DWORD, DataType.DINT, DataType.FLOAT, DataType.ULONG,
                DataType.LONG, DataType.DOUBLE)


def _encoder(slot: Slot) -> Callable[[Any], list[int]]:
    """Return the fastest encoding of ``slot``'s values into words: one pack and one unpack for a
    number (the codec's general path for the rest); it raises on a value that does not fit."""
    point = slot.point
    if slot.area.is_bits or point.dtype.is_bit:
        return lambda value: [1 if value else 0]
    if point.dtype not in _IN_ONE_PACK:
        return lambda value: encode(point, _scalar(value))
    as_bytes = struct.Struct(">" + point.dtype.struct_code).pack
    as_words = struct.Struct(f">{point.dtype.size // 2}H").unpack
    number = float if point.dtype in (DataType.FLOAT, DataType.DOUBLE) else int
    if point.dtype.size == 2 or point.byte_order is ByteOrder.ABCD:
        return lambda value: list(as_words(as_bytes(number(value))))
    order = point.byte_order
    return lambda value: list(as_words(reorder(as_bytes(number(value)), order)))


def _scalar(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        raise TypeError("an array is not served")
    return value


def _decoded(slot: Slot, words: list[int]) -> Any:
    if slot.area.is_bits or slot.point.dtype.is_bit:
        if words[0] not in (0, 1):
            raise ValueError(f"{words[0]} is not 0 or 1")
        return bool(words[0])
    return decode(slot.point, slot.address, words)


class _GuardedHandler(ServerRequestHandler):
    """A connection that is closed at once unless its client is allowed and a place is free."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        slave: GuardedTcpServer = self.server
        peer = transport.get_extra_info("peername") or ("?", 0)
        refusal = slave.refusal(str(peer[0]))
        if refusal is not None:
            slave.counters.refused_clients += 1
            log.warning("modbus slave: refused %s: %s", peer[0], refusal)
            self.close()
            return
        slave.counters.clients = len(slave.active_connections)
        log.info("modbus slave: %s connected", peer[0])

    def callback_disconnected(self, exc: Exception | None) -> None:
        super().callback_disconnected(exc)
        slave: GuardedTcpServer = self.server
        slave.counters.clients = len(slave.active_connections)  # this one has left it already


class GuardedTcpServer(ModbusTcpServer):
    """pymodbus's TCP server with an allow-list of clients and a connection limit."""

    def __init__(self, datastore: SlaveDatastore, service: ModbusServerSettings, counters: SlaveCounters) -> None:
        super().__init__(datastore, address=(service.host, service.port))
        self.counters = counters
        self._allowed = [ipaddress.ip_network(item, strict=False) for item in service.allowed_clients]
        self._max_connections = service.max_connections

    def callback_new_connection(self) -> ServerRequestHandler:
        return _GuardedHandler(self, self.trace_packet, self.trace_pdu,  # type: ignore[no-untyped-call]
                               self.trace_connect)

    def refusal(self, host: str) -> str | None:
        """Return why a client at ``host`` may not connect, None when it may."""
        if self._allowed:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                return "not an IP address"
            if not any(address in network for network in self._allowed):
                return "not in allowed_clients"
        if len(self.active_connections) > self._max_connections:
            return f"{self._max_connections} clients are connected already (max_connections)"
        return None


class ModbusSlaveService(DataService):
    """``services.modbus_server``: serves the map until cancelled."""

    name = "modbus_server"
    title = "Modbus TCP slave"
    settings_model = ModbusServerSettings

    def __init__(self, settings: ModbusServerSettings, measures: Sequence[ServedMeasure], access: DataAccess) -> None:
        self.config = settings
        self.map, _problems = build_map(settings, measures)  # checked when the configuration loaded
        self.counters = SlaveCounters()
        self.state = "starting"
        self._datastore = SlaveDatastore(self.map, access, settings, self.counters)

    @classmethod
    def check(cls, settings: ModbusServerSettings, measures: Sequence[ServedMeasure]) -> list[Problem]:
        """Return the problems of the map."""
        return build_map(settings, measures)[1]

    @classmethod
    def describe(cls, settings: ModbusServerSettings, measures: Sequence[ServedMeasure]) -> list[dict[str, Any]]:
        """Return each mapped measure's address, type and access (and its quality word's address)."""
        return [{"controller": slot.controller, "measure": slot.measure, "address": slot.point.address,
                 "type": str(slot.point.dtype), "access": "rw" if slot.writable else "ro",
                 "quality_address": address_text(slot.area, slot.offset + slot.width) if slot.quality else None}
                for slot in build_map(settings, measures)[0].slots]

    async def run(self) -> None:
        """Listen and answer until cancelled; raise OSError when the port cannot be opened."""
        server = GuardedTcpServer(self._datastore, self.config, self.counters)
        if not await server.listen():
            self.state = f"cannot listen on {self.config.host}:{self.config.port}"
            raise OSError(f"modbus slave: {self.state} (in use, or below 1024 without the right to it)")
        where = f"{self.config.host}:{self.config.port}"
        self.state = f"listening on {where}"
        log.info("modbus slave: listening on %s, unit %d, %d measure(s) mapped", where, self.config.unit_id,
                 len(self.map.slots))
        try:
            await asyncio.Event().wait()
        finally:
            self.state = "stopped"
            await server.shutdown()  # type: ignore[no-untyped-call]

    def status(self) -> dict[str, Any]:
        """Return the service's state and counters for the overview and ``/metrics``."""
        counters = self.counters
        return {"state": self.state, "clients": counters.clients, "requests": counters.requests,
                "exceptions": counters.exceptions, "writes": counters.writes,
                "refused_clients": counters.refused_clients, "last_error": counters.last_error,
                "mapped": len(self.map.slots)}

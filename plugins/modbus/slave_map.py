"""The Modbus slave's address map (pure): which measure each address serves, laid out by hand
(``map:``, Device Supervisor's mapping table) or automatically in measure order.

A slot is one measure at one place: its registers (or bit) and, with ``on_bad: substitute``, one
quality register (or bit) right after them: 0 while the reading is good, 1 while it is bad.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.errors import AddressError, Problem
from gateway.services.contract import ServedMeasure
from gateway.southbound import Point

from .addresses import Area, ModbusAddress, check_point, register_count
from .slave_settings import ModbusServerSettings

LAST_OFFSET = 65535


@dataclass(frozen=True, slots=True)
class Slot:
    """One measure served at ``offset`` of ``area``, ``width`` registers (or bits) wide."""

    controller: str
    measure: str
    point: Point
    area: Area
    offset: int
    width: int
    writable: bool  # the measure is rw and the area one a master writes
    quality: bool  # a quality register (or bit) follows the value
    origin: str = ""  # the map entry that placed it (map[3]), for a problem's path; "" when laid out

    @property
    def end(self) -> int:
        """Return the offset after the slot, its quality word included."""
        return self.offset + self.width + self.quality

    @property
    def address(self) -> ModbusAddress:
        """Return the slot's address as the codec takes it."""
        return ModbusAddress(self.area, self.offset)


class AreaMap:
    """The slots of one area, sorted, found by offset in O(log n)."""

    def __init__(self, slots: Sequence[Slot]) -> None:
        self.slots = sorted(slots, key=lambda slot: slot.offset)
        self._offsets = [slot.offset for slot in self.slots]

    def overlapping(self, start: int, count: int) -> list[Slot]:
        """Return the slots that share an offset with ``start .. start + count - 1``."""
        return self.slots[self.span(start, count)]

    def span(self, start: int, count: int) -> slice:
        """Return where in :attr:`slots` the slots sharing an offset with ``start .. start + count - 1`` are."""
        first = bisect_right(self._offsets, start) - 1
        if first < 0 or self.slots[first].end <= start:
            first += 1
        return slice(first, bisect_right(self._offsets, start + count - 1))


@dataclass(frozen=True)
class SlaveMap:
    """Every slot by area."""

    areas: dict[Area, AreaMap]

    @property
    def slots(self) -> list[Slot]:
        """Return every slot, area by area."""
        return [slot for area in self.areas.values() for slot in area.slots]


def build_map(service: ModbusServerSettings, measures: Sequence[ServedMeasure]) -> tuple[SlaveMap, list[Problem]]:
    """Lay out ``service``'s map over the configuration's measures; return it with every problem
    found on the way (paths relative to the service's section). Slots with problems are left out."""
    by_key = {(m.controller, m.name): m for m in measures}
    slots: list[Slot] = []
    problems: list[Problem] = []
    if service.layout == "auto":
        slots = _auto_layout(service, measures)
    for index, entry in enumerate(service.map):
        path = f"map[{index}]"
        measure = by_key.get((entry.controller, entry.measure))
        if measure is None:
            problems.append(Problem(f"{path}.measure",
                                    f"no measure '{entry.measure}' on controller '{entry.controller}'"))
            continue
        dtype = entry.type or measure.type
        if dtype is None:
            problems.append(Problem(f"{path}.type", "the measure maps values to names; give the type to serve"))
            continue
        point = Point(measure.name, entry.address, dtype, measure.length,
                      entry.byte_order or service.byte_order, measure.encoding)
        try:
            address = check_point(point)
        except AddressError as exc:
            problems.append(Problem(f"{path}.address", str(exc)))
            continue
        if address.bit is not None:
            problems.append(Problem(f"{path}.address", "serve a whole register (or a coil); "
                                                       "a bit inside a register is not served"))
            continue
        slots.append(_slot(measure, point, address.area, address.offset, service, path))
    problems += _overlaps(slots)
    valid = [s for s in slots if s.end <= LAST_OFFSET + 1]
    problems += [Problem(_where(s), f"{s.controller}.{s.measure} runs past the last address")
                 for s in slots if s.end > LAST_OFFSET + 1]
    return SlaveMap({area: AreaMap([s for s in valid if s.area is area]) for area in Area}), problems


def _slot(measure: ServedMeasure, point: Point, area: Area, offset: int, service: ModbusServerSettings,
          origin: str = "") -> Slot:
    return Slot(measure.controller, measure.name, point, area, offset, register_count(point),
                measure.writable and area.writable, service.on_bad == "substitute", origin)


def _auto_layout(service: ModbusServerSettings, measures: Sequence[ServedMeasure]) -> list[Slot]:
    """Every measure in measure order from the first address of its area: bits in coils (rw) or
    discrete inputs (ro), the others in holding (rw) or input registers (ro)."""
    next_offset = dict.fromkeys(Area, 0)
    slots = []
    for measure in measures:
        dtype = measure.type
        if dtype is None:
            continue
        if dtype.is_bit:
            area = Area.COIL if measure.writable else Area.DISCRETE_INPUT
        else:
            area = Area.HOLDING_REGISTER if measure.writable else Area.INPUT_REGISTER
        offset = next_offset[area]
        point = Point(measure.name, address_text(area, offset), dtype, measure.length, service.byte_order,
                      measure.encoding)
        slot = _slot(measure, point, area, offset, service)
        next_offset[area] = slot.end
        slots.append(slot)
    return slots


def address_text(area: Area, offset: int) -> str:
    """Return Device Supervisor's six-digit address of ``offset`` in ``area``."""
    return f"{area.value}{offset + 1:05d}"


def _overlaps(slots: Sequence[Slot]) -> list[Problem]:
    problems = []
    for area in Area:
        previous: Slot | None = None
        for slot in sorted((s for s in slots if s.area is area), key=lambda s: s.offset):
            if previous is not None and slot.offset < previous.end:
                other = f"{previous.controller}.{previous.measure} at {previous.point.address}"
                problems.append(Problem(_where(slot), f"{slot.controller}.{slot.measure} at {slot.point.address} "
                                                      f"overlaps {other}"))
                continue
            previous = slot
    return problems



def _where(slot: Slot) -> str:
    return f"{slot.origin}.address" if slot.origin else "layout"

"""The Modbus slave's map: where each measure is served, by hand or laid out in measure order."""

from __future__ import annotations

from gateway.services.contract import ServedMeasure
from gateway.southbound import DataType
from gateway_plugins.modbus.addresses import Area
from gateway_plugins.modbus.slave_map import build_map
from gateway_plugins.modbus.slave_settings import ModbusServerSettings

MEASURES = [
    ServedMeasure("PLC1", "Temp", DataType.FLOAT, 0, "utf-8", writable=False),
    ServedMeasure("PLC1", "Setpoint", DataType.FLOAT, 0, "utf-8", writable=True),
    ServedMeasure("PLC1", "Pump", DataType.BIT, 0, "utf-8", writable=True),
    ServedMeasure("PLC1", "Mode", None, 0, "utf-8", writable=False),  # value-mapped: names, not numbers
    ServedMeasure("PLC1", "Batch", DataType.STRING, 10, "utf-8", writable=False),
    ServedMeasure("PLC1", "Count", DataType.DINT, 0, "utf-8", writable=False),
]


def _where(settings: ModbusServerSettings) -> dict[str, tuple[Area, int, int, bool]]:
    slave_map, problems = build_map(settings, MEASURES)
    assert problems == []
    return {s.measure: (s.area, s.offset, s.width, s.writable) for s in slave_map.slots}


def test_auto_places_each_measure_in_its_area_in_measure_order() -> None:
    assert _where(ModbusServerSettings(layout="auto")) == {
        "Temp": (Area.INPUT_REGISTER, 0, 2, False), "Batch": (Area.INPUT_REGISTER, 2, 5, False),
        "Count": (Area.INPUT_REGISTER, 7, 2, False),
        "Setpoint": (Area.HOLDING_REGISTER, 0, 2, True), "Pump": (Area.COIL, 0, 1, True)}


def test_substitute_leaves_a_quality_word_after_each_value() -> None:
    slave_map, _ = build_map(ModbusServerSettings(layout="auto", on_bad="substitute"), MEASURES)
    inputs = slave_map.areas[Area.INPUT_REGISTER].slots
    assert [(s.measure, s.offset, s.end) for s in inputs] == [("Temp", 0, 3), ("Batch", 3, 9), ("Count", 9, 12)]


def test_a_manual_map_is_found_by_range_and_a_read_only_measure_stays_read_only() -> None:
    settings = ModbusServerSettings(map=[
        {"controller": "PLC1", "measure": "Temp", "address": "400010"},
        {"controller": "PLC1", "measure": "Count", "address": "400001", "byte_order": "cdab"}])
    slave_map, problems = build_map(settings, MEASURES)
    assert problems == []
    holding = slave_map.areas[Area.HOLDING_REGISTER]
    assert [s.measure for s in holding.overlapping(0, 125)] == ["Count", "Temp"]
    assert [s.measure for s in holding.overlapping(10, 1)] == ["Temp"]  # the second word of Temp
    assert holding.overlapping(2, 7) == []
    assert not any(s.writable for s in holding.slots)  # a holding register does not make Temp writable
    assert holding.slots[0].point.byte_order == "cdab"


def test_every_problem_of_a_map_is_reported_with_its_entry() -> None:
    settings = ModbusServerSettings(map=[
        {"controller": "PLC1", "measure": "Temp", "address": "400001"},
        {"controller": "PLC1", "measure": "Setpoint", "address": "400002"},
        {"controller": "PLC2", "measure": "Temp", "address": "400010"},
        {"controller": "PLC1", "measure": "Mode", "address": "400020"},
        {"controller": "PLC1", "measure": "Pump", "address": "400030.2"},
        {"controller": "PLC1", "measure": "Count", "address": "465536"}])
    _, problems = build_map(settings, MEASURES)
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        ("map[2].measure", "no measure 'Temp' on controller 'PLC2'"),
        ("map[3].type", "the measure maps values to names; give the type to serve"),
        ("map[4].address", "serve a whole register (or a coil); a bit inside a register is not served"),
        ("map[5].address", "'465536' with type DINT runs past the last register"),
        ("map[1].address", "PLC1.Setpoint at 400002 overlaps PLC1.Temp at 400001")]


def test_an_auto_layout_past_the_last_register_is_refused() -> None:
    many = [ServedMeasure("PLC1", f"M{i}", DataType.DOUBLE, 0, "utf-8", writable=False) for i in range(16_385)]
    slave_map, problems = build_map(ModbusServerSettings(layout="auto"), many)
    assert [p.message for p in problems] == ["PLC1.M16384 runs past the last address"]
    assert len(slave_map.slots) == 16_384

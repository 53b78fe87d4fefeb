"""Property tests: for any measure set, a plan covers every measure exactly once and respects every
limit, and decoding a measure from its block equals decoding it from a read of its own registers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.southbound import ByteOrder, DataType, Point, ReadResult
from gateway_plugins.modbus import codec as modbus_codec
from gateway_plugins.modbus import driver as modbus_driver
from gateway_plugins.modbus.addresses import check_point as modbus_check
from gateway_plugins.modbus.addresses import register_count
from gateway_plugins.modbus.planning import MAX_BITS, MAX_REGISTERS
from gateway_plugins.modbus.planning import plan_reads as plan_modbus
from gateway_plugins.s7 import codec as s7_codec
from gateway_plugins.s7.addresses import byte_span
from gateway_plugins.s7.addresses import check_point as s7_check
from gateway_plugins.s7.planning import HEADER_BYTES
from gateway_plugins.s7.planning import plan_reads as plan_s7

REGISTER_TYPES = [DataType.INT, DataType.WORD, DataType.DINT, DataType.DWORD, DataType.FLOAT,
                  DataType.DOUBLE, DataType.LONG, DataType.ULONG, DataType.BYTE, DataType.SINT]


@st.composite
def modbus_points(draw: st.DrawFn) -> list[Point]:
    count = draw(st.integers(1, 60))
    points = []
    for i in range(count):
        kind = draw(st.sampled_from(["coil", "input", "ir", "hr", "hr_bit"]))
        offset = draw(st.integers(0, 600))
        if kind in ("coil", "input"):
            address, dtype = f"{0 if kind == 'coil' else 1}{offset + 1:05d}", DataType.BIT
        elif kind == "hr_bit":
            address, dtype = f"4{offset + 1:05d}.{draw(st.integers(0, 15))}", DataType.BIT
        else:
            address, dtype = f"{3 if kind == 'ir' else 4}{offset + 1:05d}", draw(st.sampled_from(REGISTER_TYPES))
        points.append(Point(f"p{i}", address, dtype, byte_order=draw(st.sampled_from(list(ByteOrder)))))
    return points


@settings(max_examples=200, deadline=None)
@given(points=modbus_points(), max_gap=st.integers(0, 64), max_registers=st.integers(4, 125),
       image=st.binary(min_size=1400, max_size=1400))
def test_modbus_plan_covers_exactly_within_limits_and_decodes_alike(
    points: list[Point], max_gap: int, max_registers: int, image: bytes
) -> None:
    memory = modbus_codec.bytes_to_registers(image)
    plan = plan_modbus(points, max_gap, max_registers)
    covered = [point.name for block in plan.blocks for point, _ in block.members]
    assert sorted(covered) == sorted(p.name for p in points)
    bits = [bool(word & 1) for word in memory]
    for block in plan.blocks:
        limit = MAX_BITS if block.area.is_bits else min(max_registers, MAX_REGISTERS)
        assert 1 <= block.count <= limit
        data = (bits if block.area.is_bits else memory)[block.start : block.start + block.count]
        decoded = ReadResult()
        modbus_driver._decode_block(block, data, decoded)  # the whole block at once, as every cycle reads it
        for point, address in block.members:
            assert address == modbus_check(point)
            span = register_count(point)
            assert block.start <= address.offset and address.offset + span <= block.start + block.count
            from_block = decoded.values[point.name]
            if block.area.is_bits:
                alone = bits[address.offset]
            else:
                alone = modbus_codec.decode(point, address, memory[address.offset : address.offset + span])
            assert _same(from_block, alone)


@st.composite
def s7_points(draw: st.DrawFn) -> list[Point]:
    count = draw(st.integers(1, 60))
    points = []
    for i in range(count):
        area = draw(st.sampled_from(["DB1", "DB2", "M", "I"]))
        byte = draw(st.integers(0, 900))
        if draw(st.booleans()):
            bit = draw(st.integers(0, 7))
            address, dtype = (f"{area}.{byte}.{bit}" if area.startswith("DB") else f"{area}{byte}.{bit}"), DataType.BIT
        else:
            address = f"{area}.{byte}" if area.startswith("DB") else f"{area}{byte}"
            dtype = draw(st.sampled_from(REGISTER_TYPES))
        points.append(Point(f"p{i}", address, dtype))
    return points


@settings(max_examples=200, deadline=None)
@given(points=s7_points(), max_gap=st.integers(0, 64), pdu=st.sampled_from([240, 480, 960]),
       memory=st.binary(min_size=1000, max_size=1000))
def test_s7_plan_covers_exactly_within_the_pdu_and_decodes_alike(
    points: list[Point], max_gap: int, pdu: int, memory: bytes
) -> None:
    plan = plan_s7(points, max_gap, pdu)
    covered = [point.name for block in plan.blocks for point, _ in block.members]
    assert sorted(covered) == sorted(p.name for p in points)
    for block in plan.blocks:
        assert 1 <= block.size <= pdu - HEADER_BYTES
        data = memory[block.start : block.start + block.size]
        for point, address in block.members:
            assert address == s7_check(point) and (block.area, block.db) == (address.area, address.db)
            assert block.start <= address.byte and address.byte + byte_span(point) <= block.start + block.size
            from_block = s7_codec.decode(point, address.bit, data, address.byte - block.start)
            alone = s7_codec.decode(point, address.bit, memory[address.byte : address.byte + byte_span(point)], 0)
            assert _same(from_block, alone)


def _same(a: object, b: object) -> bool:
    return a == b or (a != a and b != b)  # NaN decodes as NaN both ways

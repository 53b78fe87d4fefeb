"""Modbus codec: every numeric type in every byte order round-trips; known register images decode,
alone and as a whole block."""

from __future__ import annotations

import pytest

from gateway.southbound import ByteOrder, DataType, Point, ReadResult
from gateway_plugins.modbus import codec
from gateway_plugins.modbus.addresses import check_point, parse_address, register_count
from gateway_plugins.modbus.driver import _decode_block
from gateway_plugins.modbus.planning import plan_reads

SAMPLES = {
    DataType.WORD: 65535, DataType.INT: -12345, DataType.DWORD: 4_000_000_000, DataType.DINT: -2_000_000_000,
    DataType.ULONG: 2**63 + 5, DataType.LONG: -(2**62), DataType.FLOAT: 21.5, DataType.DOUBLE: -1234.56789,
    DataType.BCD: 1234, DataType.BYTE: 200, DataType.SINT: -100,
}


@pytest.mark.parametrize("order", list(ByteOrder))
@pytest.mark.parametrize("dtype", list(SAMPLES))
def test_round_trip(dtype: DataType, order: ByteOrder) -> None:
    point = Point("x", "40001", dtype, byte_order=order)
    registers = codec.encode(point, SAMPLES[dtype])
    assert codec.decode(point, parse_address("40001"), registers) == SAMPLES[dtype]


@pytest.mark.parametrize(("order", "registers"), [
    (ByteOrder.ABCD, [0x4148, 0x0000]),   # 12.5 as big-endian float32
    (ByteOrder.CDAB, [0x0000, 0x4148]),
    (ByteOrder.BADC, [0x4841, 0x0000]),
    (ByteOrder.DCBA, [0x0000, 0x4841]),
])
def test_byte_orders_of_a_known_float(order: ByteOrder, registers: list[int]) -> None:
    point = Point("x", "40001", DataType.FLOAT, byte_order=order)
    assert codec.decode(point, parse_address("40001"), registers) == 12.5


def test_bits_strings_and_bcd() -> None:
    assert codec.decode(Point("b", "40001.3", DataType.BIT), parse_address("40001.3"), [0b1000]) is True
    assert codec.decode(Point("b", "40001.2", DataType.BIT), parse_address("40001.2"), [0b1000]) is False
    text = Point("s", "40001", DataType.STRING, length=5)
    assert codec.decode(text, parse_address("40001"), [0x4142, 0x4344, 0x4500]) == "ABCDE"
    assert codec.encode(text, "AB") == [0x4142, 0, 0]
    with pytest.raises(ValueError, match="not BCD"):
        codec.decode(Point("c", "40001", DataType.BCD), parse_address("40001"), [0x12A4])


def test_points_built_from_plain_strings_decode_like_enums() -> None:
    """A config gives byte orders as text; 'cdab' must behave exactly like ByteOrder.CDAB."""
    from_text = Point("x", "40001", "FLOAT", byte_order="cdab")  # type: ignore[arg-type]
    assert codec.decode(from_text, parse_address("40001"), [0x0000, 0x4148]) == 12.5
    default = Point("x", "40001", "FLOAT", byte_order="abcd")  # type: ignore[arg-type]
    assert codec.decode(default, parse_address("40001"), [0x4148, 0x0000]) == 12.5


def test_utf8_strings_round_trip_in_registers() -> None:
    point = Point("s", "40001", DataType.STRING, length=8)
    registers = codec.encode(point, "Pumpe Ü")
    assert len(registers) == 4 and codec.decode(point, parse_address("40001"), registers) == "Pumpe Ü"


def test_a_block_decodes_at_once_like_its_members_one_by_one() -> None:
    points = [Point("a", "400001", DataType.INT), Point("b", "400002", DataType.FLOAT),
              Point("c", "400005", DataType.WORD), Point("d", "400006", DataType.DINT, byte_order="cdab"),
              Point("e", "400001.3", DataType.BIT), Point("f", "400008", DataType.STRING, length=4)]
    members = [(p, check_point(p)) for p in points]
    registers = [0xFFFE, 0x41AC, 0x0000, 0, 7, 0x0001, 0x0002, 0x4142, 0x4300]
    alone = {p.name: codec.decode(p, a, registers[a.offset : a.offset + register_count(p)]) for p, a in members}
    assert dict(codec.block_decoder(0, members)(registers)) == alone == {
        "a": -2, "b": 21.5, "c": 7, "d": 0x20001, "e": True, "f": "ABC"}


def test_an_answer_shorter_than_the_block_fails_only_the_members_it_does_not_hold() -> None:
    block = plan_reads([Point("a", "400001", DataType.INT), Point("b", "400002", DataType.DINT)], 0, 125).blocks[0]
    result = ReadResult()
    _decode_block(block, [5, 0], result)  # two of the three registers
    assert result.values == {"a": 5} and list(result.errors) == ["b"]

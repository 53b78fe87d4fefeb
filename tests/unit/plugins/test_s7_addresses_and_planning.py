"""S7 address forms (Device Supervisor and Siemens), planning and codec."""

from __future__ import annotations

import pytest

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point
from gateway_plugins.s7 import codec
from gateway_plugins.s7.addresses import S7Address, check_point, parse_address
from gateway_plugins.s7.planning import HEADER_BYTES, plan_reads


@pytest.mark.parametrize(("text", "expected"), [
    ("DB3.6", S7Address("DB", 3, 6)),
    ("DB3.0.1", S7Address("DB", 3, 0, 1)),
    ("M16.1", S7Address("M", 0, 16, 1)),
    ("I0.0", S7Address("I", 0, 0, 0)),
    ("Q2", S7Address("Q", 0, 2)),
    ("DB6.DBD18", S7Address("DB", 6, 18, None, 4)),
    ("DB1.DBX0.1", S7Address("DB", 1, 0, 1)),
    ("DB1.DBW2", S7Address("DB", 1, 2, None, 2)),
    ("DB1.DBB4", S7Address("DB", 1, 4, None, 1)),
    ("%IW3", S7Address("I", 0, 3, None, 2)),
    ("%MD4", S7Address("M", 0, 4, None, 4)),
    ("%Q0.1", S7Address("Q", 0, 0, 1)),
    ("db2.dbw4", S7Address("DB", 2, 4, None, 2)),
])
def test_parses_every_form(text: str, expected: S7Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("DB3.X", "not an S7 address"), ("DB0.1", "DB0"), ("DB3.0.8", "bits are 0-7"),
    ("DB1.DBX0", "needs a bit"), ("DB1.DBW2.1", "mixes"), ("X3.0", "not an S7 address"),
])
def test_refuses_bad_addresses(text: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        parse_address(text)


def test_siemens_size_letter_must_match_the_type() -> None:
    check_point(Point("ok", "DB6.DBD18", DataType.FLOAT))
    with pytest.raises(AddressError, match="2 byte"):
        check_point(Point("bad", "DB6.DBW18", DataType.DINT))


def test_plan_merges_per_db_and_respects_the_pdu() -> None:
    points = [Point("a", "DB3.0.1", DataType.BIT), Point("b", "DB3.2", DataType.FLOAT),
              Point("c", "DB3.40", DataType.INT), Point("d", "DB6.0", DataType.INT),
              Point("e", "M16.1", DataType.BOOL)]
    plan = plan_reads(points, max_gap=16, pdu_size=240)
    shape = [(b.area, b.db, b.start, b.size, [p.name for p, _ in b.members]) for b in plan.blocks]
    assert shape == [("DB", 3, 0, 6, ["a", "b"]), ("DB", 3, 40, 2, ["c"]), ("DB", 6, 0, 2, ["d"]),
                     ("M", 0, 16, 1, ["e"])]
    many = [Point(f"r{i}", f"DB1.{4 * i}", DataType.FLOAT) for i in range(200)]
    for block in plan_reads(many, max_gap=0, pdu_size=240).blocks:
        assert block.size <= 240 - HEADER_BYTES


@pytest.mark.parametrize(("dtype", "value"), [
    (DataType.INT, -300), (DataType.WORD, 65000), (DataType.DINT, -70000), (DataType.DWORD, 4_000_000_000),
    (DataType.FLOAT, 12.5), (DataType.DOUBLE, 1e-9), (DataType.BCD, 9042), (DataType.BYTE, 7), (DataType.SINT, -7),
    (DataType.LONG, -(2**40)), (DataType.ULONG, 2**40),
])
def test_codec_round_trip(dtype: DataType, value: object) -> None:
    point = Point("x", "DB1.0", dtype)
    data = bytearray(2) + codec.encode(point, value)
    assert codec.decode(point, None, data, 2) == value


def test_codec_bits_are_numbered_within_the_byte() -> None:
    point = Point("x", "DB1.0.1", DataType.BIT)
    assert codec.decode(point, 1, bytes([0b10]), 0) is True
    assert codec.set_bit(0b10, 1, False) == 0

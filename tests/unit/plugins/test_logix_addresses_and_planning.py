"""Logix tag paths, multi-service packing and value checks (pure, table-tested)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point
from gateway_plugins.logix import codec
from gateway_plugins.logix.addresses import TagAddress, check_point, parse_address
from gateway_plugins.logix.planning import LARGE_CONNECTION, SMALL_CONNECTION, plan_reads


@pytest.mark.parametrize(("text", "expected"), [
    ("Line1_Speed", TagAddress("Line1_Speed")),
    ("Program:Main.Counter", TagAddress("Program:Main.Counter")),
    ("Line1.Motor.Speed", TagAddress("Line1.Motor.Speed")),
    ("Recipe[3]", TagAddress("Recipe[3]")),
    ("Matrix[1,2]", TagAddress("Matrix[1,2]")),
    ("Status.5", TagAddress("Status.5")),
    ("Recipe[0]{10}", TagAddress("Recipe[0]", 10)),
    ("Lines[2].Motor.Speed", TagAddress("Lines[2].Motor.Speed")),
])
def test_every_tag_form_parses(text: str, expected: TagAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("1Line", "is not a Logix tag"),
    ("Line 1", "is not a Logix tag"),
    ("Program:.Counter", "is not a Logix tag"),
    ("Recipe[x]", "is not a Logix tag"),
    ("Recipe{3}", "reads n elements from an array element"),
    ("Recipe[0]{0}", "from 1 to 1000"),
    ("Recipe[0]{5000}", "from 1 to 1000"),
])
def test_a_wrong_tag_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        parse_address(text)


def test_bcd_is_refused() -> None:
    with pytest.raises(AddressError, match="register encoding"):
        check_point(Point("B", "Tag", DataType.BCD))


def test_tags_are_packed_into_requests_the_connection_carries() -> None:
    points = [Point(f"P{i}", f"Line_Tag_{i:04d}", DataType.DINT) for i in range(500)]
    small, large = plan_reads(points, SMALL_CONNECTION), plan_reads(points, LARGE_CONNECTION)
    assert 20 <= small.request_count <= 30 and large.request_count == 4  # not 500: some 140 tags a request
    for packet in large.packets():  # every request and its answer fit the connection
        assert 30 + sum(e.request_bytes + 2 for e in packet) < LARGE_CONNECTION
        assert 28 + sum(e.reply_bytes for e in packet) < LARGE_CONNECTION
    array = plan_reads([*points[:10], Point("A", "Recipe[0]{100}", DataType.INT)], LARGE_CONNECTION)
    assert array.request_count == 2  # an array read goes alone
    shared = plan_reads([Point("A", "Tag", DataType.DINT), Point("B", "Tag", DataType.FLOAT)])
    assert len(shared.entries) == 1 and [p.name for p in shared.entries[0].points] == ["A", "B"]


@pytest.mark.parametrize(("dtype", "value", "expected"), [
    (DataType.FLOAT, 21, 21.0), (DataType.DOUBLE, 1.5, 1.5), (DataType.INT, 7.0, 7), (DataType.BOOL, True, True),
    (DataType.BIT, 1, True), (DataType.STRING, "R-17", "R-17"), (DataType.DINT, [1, 2, 3], [1, 2, 3]),
])
def test_values_the_measure_can_take(dtype: DataType, value: Any, expected: Any) -> None:
    decoded = codec.decode(Point("P", "Tag", dtype), value)
    assert decoded == expected and type(decoded) is type(expected)


@pytest.mark.parametrize(("dtype", "value", "reason"), [
    (DataType.FLOAT, "21.5", "not a number"), (DataType.INT, 7.5, "not the whole number INT needs"),
    (DataType.BOOL, 2, "not a bit"), (DataType.STRING, 3.5, "not text"), (DataType.FLOAT, None, "no value"),
])
def test_values_the_measure_refuses_say_why(dtype: DataType, value: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        codec.decode(Point("P", "Tag", dtype), value)

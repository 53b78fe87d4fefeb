"""What a write from outside may be: booleans are not numbers, numeric strings are numbers (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.southbound import DataType, Point
from gateway.southbound.values import accepted_input, checked_value

WORD = Point("Speed", "40001", DataType.WORD)
BIT = Point("Run", "00001", DataType.BIT)
FLOAT = Point("Temp", "40003", DataType.FLOAT)
LONG = Point("Count", "40005", DataType.LONG)

TAKEN = [(WORD, 43, 43), (WORD, "43", 43), (FLOAT, "-1.5", -1.5), (FLOAT, "2e3", 2000.0), (BIT, True, True),
         (BIT, 0, False), (BIT, 1, True), (LONG, "9223372036854775807", 2**63 - 1)]
REFUSED = [(WORD, True, "true is not a number"), (FLOAT, False, "false is not a number"),
           (WORD, "nan", "not a number"), (FLOAT, "inf", "not a number"), (WORD, " 43", "not a number"),
           (WORD, "0x10", "not a number"), (WORD, "٤٣", "not a number"), (WORD, None, "not a number"),
           (BIT, 2, "not a bit value"), (BIT, "true", "not a bit value"), (BIT, 1.0, "not a bit value")]


@pytest.mark.parametrize(("point", "value", "expected"), TAKEN)
def test_values_a_point_takes(point: Point, value: Any, expected: Any) -> None:
    taken = checked_value(point, accepted_input(point, value))
    assert taken == expected and type(taken) is type(expected)


@pytest.mark.parametrize(("point", "value", "said"), REFUSED)
def test_values_a_point_refuses(point: Point, value: Any, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        accepted_input(point, value)


def test_a_boolean_is_no_number_even_past_the_input_check() -> None:
    with pytest.raises(ValueError, match="true is not a number"):
        checked_value(WORD, True)


def test_an_array_is_checked_element_by_element() -> None:
    assert checked_value(WORD, accepted_input(WORD, [1, "2", 3])) == [1, 2, 3]
    assert checked_value(BIT, accepted_input(BIT, [True, 0])) == [True, False]
    with pytest.raises(ValueError, match="out of range"):
        checked_value(WORD, [1, 70_000])
    with pytest.raises(ValueError, match="not a number"):
        accepted_input(FLOAT, [1.5, True])
    for hostile in ([], [0] * 1001, [[1, 2]], [{"a": 1}]):
        with pytest.raises(ValueError, match="array value"):
            accepted_input(WORD, hostile)

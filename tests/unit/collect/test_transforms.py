"""Transforms of Device Supervisor and their inverses (table tests)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.collect.transforms import to_engineering, to_raw
from gateway.config.schema import Measure
from gateway.southbound import DataType, Point
from gateway.southbound.values import checked_value


def _measure(transform: dict[str, Any] | None, kind: str = "INT", decimal: int | None = None) -> Measure:
    return Measure(name="m", controller="c", group="g", address="40001", type=kind, transform=transform,
                   decimal=decimal)


@pytest.mark.parametrize(("transform", "raw", "value"), [
    ({"kind": "gain_offset", "gain": 0.1, "offset": -5}, 250, 20.0),
    ({"kind": "ratio", "min_value": 0, "max_value": 27648, "min_scale": 0, "max_scale": 100}, 13824, 50.0),
    ({"kind": "ratio", "min_value": 4000, "max_value": 20000, "min_scale": -20, "max_scale": 80}, 12000, 30.0),
    ({"kind": "pt_ct", "pt": 100, "ct": 40}, 2, 8000),
    ({"kind": "value_map", "map": {0: "stopped", 1: "running"}}, 1, "running"),
])
def test_transform_and_its_inverse(transform: dict[str, Any], raw: Any, value: Any) -> None:
    measure = _measure(transform)
    assert to_engineering(measure, raw) == (value if isinstance(value, str) else pytest.approx(value))
    assert to_raw(measure, value) == pytest.approx(raw)


def test_bit_slice_reads_and_refuses_writes() -> None:
    measure = _measure({"kind": "bit_slice", "start": 4, "end": 7})
    assert to_engineering(measure, 0b1011_0110) == 0b1011
    with pytest.raises(ValueError, match="cannot be written"):
        to_raw(measure, 3)


def test_value_map_passes_unmapped_values_through_and_decimal_rounds() -> None:
    assert to_engineering(_measure({"kind": "value_map", "map": {0: "off"}}), 7) == 7
    assert to_engineering(_measure({"kind": "gain_offset", "gain": 0.333}, decimal=2), 10) == 3.33


@pytest.mark.parametrize(("dtype", "value", "reason"), [
    (DataType.INT, 70000, "out of range for INT (-32768 to 32767)"),
    (DataType.WORD, -1, "out of range for WORD"),
    (DataType.INT, 1.5, "not a whole number"),
    (DataType.FLOAT, "abc", "not a number"),
    (DataType.FLOAT, 1e39, "does not fit a FLOAT"),
    (DataType.BIT, 2, "not a bit value"),
    (DataType.BCD, 10000, "out of range for BCD"),
])
def test_write_values_are_checked_against_the_type(dtype: DataType, value: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        checked_value(Point("m", "40001", dtype), value)


def test_write_values_that_fit_are_converted() -> None:
    assert checked_value(Point("m", "40001", DataType.INT), "12") == 12
    assert checked_value(Point("m", "40001", DataType.FLOAT), 3) == 3.0
    assert checked_value(Point("m", "40001", DataType.BIT), 1) is True
    with pytest.raises(ValueError, match="longer than the 4 bytes"):
        checked_value(Point("m", "40001", DataType.STRING, length=4), "hello")


def test_string_encodings() -> None:
    ascii_point = Point("s", "40001", DataType.STRING, length=8, encoding="ascii")
    assert checked_value(ascii_point, "Pump 3") == "Pump 3"
    with pytest.raises(ValueError, match="not ascii"):
        checked_value(ascii_point, "Pumpe Ü")
    utf8 = Point("s", "40001", DataType.STRING, length=8)
    assert checked_value(utf8, "Pumpe Ü") == "Pumpe Ü"  # 8 bytes in UTF-8
    with pytest.raises(ValueError, match="longer than the 8 bytes"):
        checked_value(utf8, "Pumpe ÜÜ")

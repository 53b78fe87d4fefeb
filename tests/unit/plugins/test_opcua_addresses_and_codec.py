"""OPC UA NodeId forms and value checks (pure, table-tested)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point
from gateway_plugins.opcua import codec
from gateway_plugins.opcua.addresses import NodeAddress, check_point, parse_address
from gateway_plugins.opcua.planning import plan_reads


@pytest.mark.parametrize(("text", "expected"), [
    ("ns=2;s=Line1.Temp", NodeAddress(2, None, "s", "Line1.Temp")),
    ("ns=3;i=1001", NodeAddress(3, None, "i", "1001")),
    ("ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a", NodeAddress(1, None, "g", "09087e75-8e5e-499b-954f-f2a9603db28a")),
    ("ns=1;b=M/RbKBsRVkePCePcx24oRA==", NodeAddress(1, None, "b", "M/RbKBsRVkePCePcx24oRA==")),
    ("nsu=urn:plant:mes;s=Batch.Name", NodeAddress(None, "urn:plant:mes", "s", "Batch.Name")),
    ("i=2258", NodeAddress(0, None, "i", "2258")),
    ("ns=2;s=Tank 1;Level", NodeAddress(2, None, "s", "Tank 1;Level")),  # a string identifier keeps ; and spaces
])
def test_every_nodeid_form_parses(text: str, expected: NodeAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("Line1.Temp", "is not an OPC UA NodeId"),
    ("ns=2;x=5", "is not an OPC UA NodeId"),
    ("ns=70000;i=1", "above 65535"),
    ("ns=2;i=12a", "whole number"),
    ("ns=2;i=4294967296", "whole number"),
    ("ns=2;g=not-a-guid", "GUID identifier"),
    ("ns=2;b=***", "base64"),
    (" ns=2;i=1", "is not an OPC UA NodeId"),
])
def test_a_wrong_nodeid_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        parse_address(text)


def test_bcd_is_refused_and_measures_on_one_node_share_a_read() -> None:
    with pytest.raises(AddressError, match="register encoding"):
        check_point(Point("B", "ns=2;i=1", DataType.BCD))
    points = [Point(f"P{i}", f"ns=2;i={i % 3}", DataType.INT) for i in range(7)]
    plan = plan_reads(points, max_nodes=2)
    assert [len(n.points) for n in plan.nodes] == [3, 2, 2] and plan.request_count == 2
    plan.fit(1)
    assert plan.request_count == 3 and [len(b) for b in plan.batches()] == [1, 1, 1]


@pytest.mark.parametrize(("dtype", "value", "variant", "expected"), [
    (DataType.FLOAT, 21, "Int32", 21.0),
    (DataType.DOUBLE, 1.5, "Float", 1.5),
    (DataType.INT, 7.0, "Double", 7),
    (DataType.BOOL, True, "Boolean", True),
    (DataType.BIT, 1, "Byte", True),
    (DataType.STRING, "R-17", "String", "R-17"),
    (DataType.STRING, datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC), "DateTime", "2026-12-02T00:00:00+00:00"),
    (DataType.DINT, [1, 2, 3], "Int32", [1, 2, 3]),
])
def test_values_the_measure_can_take(dtype: DataType, value: Any, variant: str, expected: Any) -> None:
    decoded = codec.decode(Point("P", "ns=2;i=1", dtype), value, variant)
    assert decoded == expected and type(decoded) is type(expected)


@pytest.mark.parametrize(("dtype", "value", "variant", "reason"), [
    (DataType.FLOAT, "21.5", "String", "holds a String .*not a number"),
    (DataType.INT, 7.5, "Double", "not the whole number INT needs"),
    (DataType.BOOL, 2, "Int32", "not a bit"),
    (DataType.STRING, 3.5, "Double", "not text"),
    (DataType.FLOAT, None, "Null", "no value"),
])
def test_values_the_measure_refuses_say_why(dtype: DataType, value: Any, variant: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        codec.decode(Point("P", "ns=2;i=1", dtype), value, variant)


def test_a_write_uses_the_nodes_own_type_once_known() -> None:
    point = Point("P", "ns=2;i=1", DataType.FLOAT)
    assert codec.write_variant(point, None) == "Float"
    assert codec.write_variant(point, "Double") == "Double"

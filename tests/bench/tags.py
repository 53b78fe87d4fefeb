"""The tag sets the southbound benchmark reads."""

from __future__ import annotations

from gateway.southbound import DataType, Point

_S7_TYPES = [(DataType.FLOAT, 4), (DataType.INT, 2), (DataType.DINT, 4), (DataType.BIT, 1)]


def modbus_tags(count: int) -> list[Point]:
    """``count`` tags over ``2 * count`` holding registers: FLOATs and DINTs, two registers each."""
    return [Point(f"t{i}", f"4{2 * i + 1:05d}", DataType.FLOAT if i % 2 else DataType.DINT) for i in range(count)]


def s7_tags(count: int) -> list[Point]:
    """``count`` tags spread evenly over DB1, DB2 and DB3, mixing REAL, INT, DINT and BOOL."""
    points = []
    offsets = {1: 0, 2: 0, 3: 0}
    for i in range(count):
        db = 1 + i % 3
        dtype, size = _S7_TYPES[i % len(_S7_TYPES)]
        address = f"DB{db}.{offsets[db]}.0" if dtype.is_bit else f"DB{db}.{offsets[db]}"
        points.append(Point(f"t{i}", address, dtype))
        offsets[db] += size
    return points

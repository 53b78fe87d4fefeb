"""The tag sets the southbound benchmark reads."""

from __future__ import annotations

import time

from gateway.southbound import DataType, Point

_S7_TYPES = [(DataType.FLOAT, 4), (DataType.INT, 2), (DataType.DINT, 4), (DataType.BIT, 1)]


def modbus_tags(count: int) -> list[Point]:
    """``count`` tags over ``2 * count`` holding registers: FLOATs and DINTs, two registers each."""
    return [Point(f"t{i}", f"4{2 * i + 1:05d}", DataType.FLOAT if i % 2 else DataType.DINT) for i in range(count)]


def opcua_tags(count: int, kinds: tuple[DataType, ...] = (DataType.DOUBLE, DataType.DINT, DataType.BOOL)
               ) -> list[Point]:
    """``count`` numeric nodes ``ns=2;i=1..count``, of ``kinds`` in turn (DOUBLEs, DINTs and BOOLs)."""
    return [Point(f"t{i}", f"ns=2;i={i + 1}", kinds[i % len(kinds)]) for i in range(count)]


def logix_tags(count: int) -> list[Point]:
    """``count`` controller tags ``T0``, ``T1``...: DINTs and REALs in turn."""
    return [Point(f"t{i}", f"T{i}", DataType.FLOAT if i % 2 else DataType.DINT) for i in range(count)]


def melsec_tags(count: int) -> list[Point]:
    """``count`` tags over ``2 * count`` D devices from D0: FLOATs and DINTs, two words each."""
    return [Point(f"t{i}", f"D{2 * i}", DataType.FLOAT if i % 2 else DataType.DINT) for i in range(count)]


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


CLOCK_EVERY = 500  # one tag in this many is a clock: the simulator keeps it at the time


def plant_tags(count: int) -> list[Point]:
    """``count`` one-register tags from 400001 on (one Modbus unit holds 65,536), WORD and INT;
    tag ``t0``, ``t500``... are clocks the end-to-end simulator keeps at the time in tenths of a
    second (modulo 65,536), so a delivered value tells how old it is."""
    return [Point(f"t{i}", f"4{i + 1:05d}", DataType.INT if i % 2 else DataType.WORD) for i in range(count)]


def clock_now() -> int:
    """Return what a clock tag holds now: the time in tenths of a second, modulo 65,536."""
    return int(time.time() * 10) % 65536


def clock_age(value: int) -> float:
    """Return how many seconds ago a clock tag held ``value``."""
    return ((clock_now() - value) % 65536) / 10

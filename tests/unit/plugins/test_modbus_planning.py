"""Modbus read planning: contiguous and near addresses merge, limits are never exceeded."""

from __future__ import annotations

import random

from gateway.southbound import DataType, Point
from gateway_plugins.modbus.addresses import check_point, register_count
from gateway_plugins.modbus.planning import MAX_BITS, MAX_REGISTERS, plan_reads


def _blocks(points: list[Point], max_gap: int = 16, max_registers: int = 125) -> list[tuple[str, int, int, list[str]]]:
    plan = plan_reads(points, max_gap, max_registers)
    return [(b.area.name, b.start, b.count, [p.name for p, _ in b.members]) for b in plan.blocks]


def test_contiguous_registers_become_one_request() -> None:
    points = [Point(f"r{i}", str(40001 + 2 * i), DataType.FLOAT) for i in range(10)]
    assert _blocks(points) == [("HOLDING_REGISTER", 0, 20, [f"r{i}" for i in range(10)])]


def test_gaps_up_to_max_gap_are_bridged_and_larger_ones_split() -> None:
    points = [Point("a", "40001", DataType.INT), Point("b", "40011", DataType.INT), Point("c", "40040", DataType.INT)]
    assert _blocks(points, max_gap=9) == [
        ("HOLDING_REGISTER", 0, 11, ["a", "b"]),
        ("HOLDING_REGISTER", 39, 1, ["c"]),
    ]
    assert _blocks(points, max_gap=8) == [
        ("HOLDING_REGISTER", 0, 1, ["a"]),
        ("HOLDING_REGISTER", 10, 1, ["b"]),
        ("HOLDING_REGISTER", 39, 1, ["c"]),
    ]


def test_areas_never_share_a_request_and_bits_in_one_register_share_it() -> None:
    points = [Point("coil", "00001", DataType.BIT), Point("ir", "30001", DataType.INT),
              Point("b0", "40001.0", DataType.BIT), Point("b7", "40001.7", DataType.BIT)]
    assert _blocks(points) == [
        ("COIL", 0, 1, ["coil"]),
        ("INPUT_REGISTER", 0, 1, ["ir"]),
        ("HOLDING_REGISTER", 0, 1, ["b0", "b7"]),
    ]


def test_block_size_is_capped_by_max_registers() -> None:
    points = [Point(f"r{i}", str(40001 + i), DataType.WORD) for i in range(300)]
    blocks = _blocks(points, max_gap=0, max_registers=100)
    assert [(start, count) for _, start, count, _ in blocks] == [(0, 100), (100, 100), (200, 100)]


def test_random_plans_cover_every_point_once_within_limits() -> None:
    rng = random.Random(7)
    kinds = [("0", DataType.BIT), ("1", DataType.BIT), ("3", DataType.INT), ("4", DataType.FLOAT),
             ("4", DataType.DOUBLE), ("3", DataType.DWORD)]
    for _ in range(200):
        points = []
        for i in range(rng.randint(1, 80)):
            prefix, dtype = rng.choice(kinds)
            points.append(Point(f"p{i}", f"{prefix}{rng.randint(1, 3000):05d}", dtype))
        max_gap, max_regs = rng.randint(0, 40), rng.randint(4, 125)
        plan = plan_reads(points, max_gap, max_regs)
        covered = [p.name for b in plan.blocks for p, _ in b.members]
        assert sorted(covered) == sorted(p.name for p in points)
        for block in plan.blocks:
            limit = MAX_BITS if block.area.is_bits else min(max_regs, MAX_REGISTERS)
            assert block.count <= limit
            for point, address in block.members:
                assert address == check_point(point)
                assert block.start <= address.offset
                assert address.offset + register_count(point) <= block.start + block.count


def test_a_register_and_its_bits_can_all_be_measures() -> None:
    """Found by the property test: sorting a whole register next to its bits crashed the planner."""
    points = [Point("w", "40001", DataType.WORD), Point("b3", "40001.3", DataType.BIT),
              Point("b0", "40001.0", DataType.BIT)]
    assert _blocks(points) == [("HOLDING_REGISTER", 0, 1, ["w", "b0", "b3"])]

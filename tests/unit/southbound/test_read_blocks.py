"""read_blocks, the reader every block-planning driver shares: a device that refuses an address
gets that address bisected out and left out of later cycles; a busy device fails the block's
members for this cycle only; a member that does not decode fails alone; and reading blocks
together gives what reading them one by one gives."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.core.errors import ConnectError, DeviceRejected, IllegalAddress
from gateway.southbound import DataType, Point
from gateway.southbound.blocks import BlockPlan, decode_members, read_blocks


@dataclass(frozen=True)
class Registers:
    """A block of consecutive registers, as Modbus and S7 plans have."""

    members: tuple[tuple[Point, int], ...]

    @property
    def span(self) -> tuple[int, int]:
        addresses = [address for _, address in self.members]
        return min(addresses), max(addresses)


class Device:
    """Registers that hold ten times their address; some do not exist, and it can be busy."""

    def __init__(self, missing: set[int] = frozenset(), busy: int = 0, garbage: set[int] = frozenset()) -> None:
        self.missing, self.busy, self.garbage = set(missing), busy, set(garbage)
        self.requests: list[tuple[int, int]] = []

    async def fetch(self, block: Registers) -> dict[int, object]:
        first, last = block.span
        self.requests.append((first, last))
        if self.busy:
            self.busy -= 1
            raise DeviceRejected("device answered exception 6 (device busy)")
        if any(first <= address <= last for address in self.missing):
            raise IllegalAddress("device answered exception 2 (illegal data address)")
        return {a: ("junk" if a in self.garbage else a * 10) for a in range(first, last + 1)}


def _decode(block: Registers, point: Point, address: int, data: dict[int, object]) -> object:
    value = data[address]
    if not isinstance(value, int):
        raise ValueError(f"{value!r} is no number")
    return value


def _narrow(block: Registers, members: list[tuple[Point, int]]) -> Registers:
    return Registers(tuple(members))


def _plan(*blocks: range) -> BlockPlan[Registers]:
    return BlockPlan([Registers(tuple((Point(f"R{a}", str(a), DataType.INT), a) for a in block)) for block in blocks])


async def _read(plan: BlockPlan[Registers], device: Device, concurrency: int = 1):  # type: ignore[no-untyped-def]
    return await read_blocks(plan, device.fetch, decode_members(_decode), _narrow, concurrency)


async def test_every_block_is_one_request_and_every_member_a_value() -> None:
    device = Device()
    result = await _read(_plan(range(0, 4), range(10, 12)), device)
    assert result.values == {"R0": 0, "R1": 10, "R2": 20, "R3": 30, "R10": 100, "R11": 110}
    assert (result.errors, device.requests) == ({}, [(0, 3), (10, 11)])


async def test_a_refused_address_is_bisected_out_and_left_out_of_later_cycles() -> None:
    device = Device(missing={5})
    plan = _plan(range(0, 8))
    first = await _read(plan, device)
    assert set(first.values) == {f"R{a}" for a in range(8)} - {"R5"}
    assert first.errors == first.newly_rejected == {"R5": "device answered exception 2 (illegal data address) at 5"}
    device.requests.clear()
    second = await _read(plan, device)
    assert second.values == first.values and second.errors == first.errors and second.newly_rejected == {}
    assert device.requests == [(0, 3), (4, 4), (6, 7)]  # the good parts only: no probing each cycle
    plan.reset()  # after a reconnect the PLC may have a new program: the whole block is asked again
    device.missing.clear()
    assert (await _read(plan, device)).errors == {}


async def test_a_busy_device_fails_the_block_for_this_cycle_only() -> None:
    device = Device(busy=1)
    plan = _plan(range(0, 2), range(10, 12))
    result = await _read(plan, device)
    assert result.errors == dict.fromkeys(("R0", "R1"), "device answered exception 6 (device busy)")
    assert result.values == {"R10": 100, "R11": 110} and result.newly_rejected == {}
    assert (await _read(plan, device)).errors == {}


async def test_a_member_that_does_not_decode_fails_alone() -> None:
    result = await _read(_plan(range(0, 3)), Device(garbage={1}))
    assert result.values == {"R0": 0, "R2": 20} and result.errors == {"R1": "'junk' is no number"}


@pytest.mark.parametrize("device", [Device(), Device(missing={3, 11}), Device(busy=1)], ids=["good", "missing", "busy"])
async def test_reading_blocks_together_gives_what_reading_them_in_turn_gives(device: Device) -> None:
    blocks = (range(0, 6), range(10, 14), range(20, 21))
    together = Device(set(device.missing), device.busy)
    one_by_one = await _read(_plan(*blocks), device)
    at_once = await _read(_plan(*blocks), together, concurrency=3)
    assert (at_once.values, at_once.errors) == (one_by_one.values, one_by_one.errors)


async def test_a_lost_connection_fails_the_whole_read() -> None:
    class Gone(Device):
        async def fetch(self, block: Registers) -> dict[int, object]:
            raise ConnectError("the connection to the PLC was lost")

    with pytest.raises(ConnectError):
        await _read(_plan(range(0, 2), range(5, 6)), Gone(), concurrency=2)

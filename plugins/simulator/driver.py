"""The ``simulator`` protocol: a PLC that exists only in the gateway, for demos and tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from gateway.southbound import Driver, DriverArgs, Point, ReadResult, SerialLine

from .addresses import parse_address
from .codec import to_value
from .planning import SimulatorPlan, plan_reads
from .waveforms import seed_of, wave


class SimulatorArgs(DriverArgs):
    """``args`` of a simulated controller."""

    scale: float = Field(100.0, gt=0, description="values run from 0 to this")


class SimulatorDriver(Driver[SimulatorPlan, SimulatorArgs]):
    """Produces waveform values; writes are remembered and read back."""

    protocol = "simulator"
    title = "Simulated values (no device)"
    endpoint_example = "local (free text: nothing is contacted)"
    address_forms = ("sine, ramp, square, triangle: a waveform of 60 s", "sine/30: a waveform with its period in s")
    args_model = SimulatorArgs
    args: SimulatorArgs
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, endpoint: str, timeout: float, args: SimulatorArgs, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        self._connected = False
        self._written: dict[str, Any] = {}

    @classmethod
    def check_endpoint(cls, endpoint: str) -> str | None:
        """Accept any endpoint: nothing is contacted."""
        return None

    @classmethod
    def check_point(cls, point: Point, args: SimulatorArgs) -> None:
        """Raise AddressError for an unknown waveform."""
        parse_address(point.address)

    @classmethod
    def plan(cls, points: Sequence[Point], args: SimulatorArgs) -> SimulatorPlan:
        """Parse every waveform once."""
        return plan_reads(points)

    @property
    def connected(self) -> bool:
        """Return True after connect()."""
        return self._connected

    async def connect(self) -> None:
        """Nothing to open."""
        self._connected = True

    async def read(self, plan: SimulatorPlan) -> ReadResult:
        """Return each point's waveform value now, or the value last written to it."""
        now = self.clock()
        result = ReadResult()
        for point, address in plan.points:
            if point.name in self._written:
                result.values[point.name] = self._written[point.name]
                continue
            level = wave(address.kind, now, address.period, seed_of(point.name))
            result.values[point.name] = to_value(point, level, self.args.scale)
        return result

    async def write(self, point: Point, value: Any) -> None:
        """Remember the value; it is read back from then on."""
        self._written[point.name] = value

    async def close(self) -> None:
        """Nothing to close."""
        self._connected = False

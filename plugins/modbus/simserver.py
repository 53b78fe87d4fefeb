"""A simulated Modbus TCP PLC on pymodbus' real server, for the demo and the tests.

It serves the given points at their addresses: read-only points move with time (unless pinned
with :meth:`ModbusSimServer.set_value`); writable points keep what a master wrote. Registers of
the ``missing`` points do not exist: reading them gets exception 2 (illegal data address), as
from a PLC whose program lacks them. ``requests`` counts the requests answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from gateway.southbound import Point
from gateway_plugins.simulator.waveforms import value_at

from . import codec
from .addresses import Area, ModbusAddress, check_point, register_count

_AREA_OF_FUNCTION = {1: Area.COIL, 5: Area.COIL, 15: Area.COIL, 2: Area.DISCRETE_INPUT,
                     4: Area.INPUT_REGISTER}
_AREA_OF_FUNCTION.update({fc: Area.HOLDING_REGISTER for fc in (3, 6, 16, 22, 23)})


class ModbusSimServer:
    """Serve ``points`` on ``host:port``; ``moving`` points change every second."""

    def __init__(
        self,
        points: Sequence[Point],
        host: str,
        port: int,
        unit_id: int = 1,
        moving: Callable[[Point], bool] = lambda _p: True,
        clock: Callable[[], float] = time.time,
        missing: Sequence[Point] = (),
    ) -> None:
        self.host, self.port = host, port
        self.requests = 0
        self._points = {p.name: (p, check_point(p)) for p in points}
        self._holes = {(address.area, address.offset + i) for p in missing
                       for address in [check_point(p)] for i in range(register_count(p))}
        self._moving = {name for name, (p, _) in self._points.items() if moving(p)}
        self._pinned: dict[str, Any] = {}
        self._blocks: dict[Area, list[int]] = {}
        self._clock = clock
        device = SimDevice(
            id=unit_id, simdata=self._simdata(), use_bit_addressing=True, action=self._on_access
        )
        self._server = ModbusTcpServer(device, address=(host, port))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
        self._task = asyncio.create_task(self._server.serve_forever())
        for _ in range(100):
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            return
        raise RuntimeError(f"Modbus simulator did not start on {self.host}:{self.port}")

    async def stop(self) -> None:
        """Stop listening and drop clients."""
        await self._server.shutdown()  # type: ignore[no-untyped-call]
        if self._task:
            self._task.cancel()

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point to ``value`` (applied before the next request is answered)."""
        self._pinned[name] = value

    def get_value(self, name: str) -> Any:
        """Return what the server currently holds for a point (e.g. after a write)."""
        point, address = self._points[name]
        registers = self._blocks.get(address.area)
        if registers is None:
            return None
        return _decode(point, address, registers)

    def _simdata(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        sizes = {area: 16 for area in Area}
        for point, address in self._points.values():
            sizes[address.area] = max(sizes[address.area], address.offset + register_count(point) + 1)
        def bits(n: int) -> list[SimData]:
            return [SimData(0, count=(n + 15) // 16 * 16, values=False, datatype=SimType.BITS)]
        def regs(area: Area) -> list[SimData]:
            size = max(sizes[area], *(offset + 2 for a, offset in self._holes if a is area), 0)
            valid = [offset for offset in range(size) if (area, offset) not in self._holes]
            runs: list[list[int]] = []
            for offset in valid:
                if runs and runs[-1][-1] == offset - 1:
                    runs[-1].append(offset)
                else:
                    runs.append([offset])
            return [SimData(run[0], count=len(run), values=0, datatype=SimType.REGISTERS) for run in runs]
        return (bits(sizes[Area.COIL]), bits(sizes[Area.DISCRETE_INPUT]),
                regs(Area.HOLDING_REGISTER), regs(Area.INPUT_REGISTER))

    async def _on_access(
        self, function_code: int, _start: int, _address: int, _count: int,
        registers: list[int], set_values: Any,
    ) -> None:
        """Refresh the served values of the accessed area before pymodbus answers."""
        self.requests += 1
        area = _AREA_OF_FUNCTION.get(function_code)
        if area is None:
            return
        self._blocks[area] = registers
        now = self._clock()
        for name, (point, address) in self._points.items():
            if address.area is not area:
                continue
            if name in self._pinned:
                _encode_into(point, address, registers, self._pinned.pop(name))
                self._moving.discard(name)
            elif name in self._moving:
                _encode_into(point, address, registers, value_at(point.dtype, now, name, point.length))


def _encode_into(point: Point, address: ModbusAddress, registers: list[int], value: Any) -> None:
    if address.area.is_bits:
        index, bit = divmod(address.offset, 16)
        registers[index] = codec.set_bit(registers[index], bit, bool(value))
    elif address.bit is not None:
        registers[address.offset] = codec.set_bit(registers[address.offset], address.bit, bool(value))
    else:
        words = codec.encode(point, value)
        registers[address.offset : address.offset + len(words)] = words


def _decode(point: Point, address: ModbusAddress, registers: list[int]) -> Any:
    if address.area.is_bits:
        index, bit = divmod(address.offset, 16)
        return bool(registers[index] >> bit & 1)
    return codec.decode(point, address, registers[address.offset : address.offset + register_count(point)])

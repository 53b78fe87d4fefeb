"""Simulated Modbus PLCs on pymodbus' real servers, for the demo and the tests.

A :class:`SimPlc` is one unit id: it serves its points at their addresses; read-only points move
with time unless pinned with ``set_value``, writable points keep what a master wrote. Registers
of ``missing`` points do not exist, so reading them gets exception 2 (illegal data address) as
from a PLC whose program lacks them. ``requests`` counts the requests it answered.

:class:`ModbusSimServer` serves one or more units over TCP (MBAP or RTU framing) or on a serial
port, like the PLCs on one RS-485 line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from gateway.southbound import Point
from gateway_plugins.simulator.waveforms import value_at

from . import codec
from .addresses import Area, ModbusAddress, check_point, register_count

_AREA_OF_FUNCTION = {1: Area.COIL, 5: Area.COIL, 15: Area.COIL, 2: Area.DISCRETE_INPUT,
                     4: Area.INPUT_REGISTER}
_AREA_OF_FUNCTION.update({fc: Area.HOLDING_REGISTER for fc in (3, 6, 16, 22, 23)})
_READ_FUNCTIONS = (1, 2, 3, 4)


class SimPlc:
    """One simulated unit: its register map, moving values and pinned values."""

    def __init__(
        self,
        points: Sequence[Point],
        unit_id: int = 1,
        moving: Callable[[Point], bool] = lambda _p: True,
        clock: Callable[[], float] = time.time,
        missing: Sequence[Point] = (),
    ) -> None:
        self.unit_id = unit_id
        self.requests = 0
        self.function_codes: list[int] = []
        self._points = {p.name: (p, check_point(p)) for p in points}
        self._holes = {(address.area, address.offset + i) for p in missing
                       for address in [check_point(p)] for i in range(register_count(p))}
        self._moving = {name for name, (p, _) in self._points.items() if moving(p)}
        self._pinned: dict[str, Any] = {}
        self._blocks: dict[Area, list[int]] = {}
        self._clock = clock
        self.device = SimDevice(id=unit_id, simdata=self._simdata(), use_bit_addressing=True, action=self._on_access)

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point to ``value`` (applied before the next request is answered); KeyError if unknown."""
        if name not in self._points:
            raise KeyError(f"no point named {name!r}")
        self._pinned[name] = value

    def get_value(self, name: str) -> Any:
        """Return what the unit currently holds for a point (e.g. after a write)."""
        point, address = self._points[name]
        registers = self._blocks.get(address.area)
        if registers is None:
            return None
        if address.area.is_bits:
            index, bit = divmod(address.offset, 16)
            return bool(registers[index] >> bit & 1)
        span = registers[address.offset : address.offset + register_count(point)]
        return codec.decode(point, address, span)

    def _simdata(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        sizes = {area: 16 for area in Area}
        for point, address in self._points.values():
            sizes[address.area] = max(sizes[address.area], address.offset + register_count(point) + 1)

        def bits(n: int) -> list[SimData]:
            return [SimData(0, count=(n + 15) // 16 * 16, values=False, datatype=SimType.BITS)]

        def regs(area: Area) -> list[SimData]:
            size = max(sizes[area], *(offset + 2 for a, offset in self._holes if a is area), 0)
            runs: list[list[int]] = []
            for offset in range(size):
                if (area, offset) in self._holes:
                    continue
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
        if set_values is not None or function_code in _READ_FUNCTIONS:  # pymodbus calls twice per write
            self.requests += 1
            self.function_codes.append(function_code)
        area = _AREA_OF_FUNCTION.get(function_code)
        if area is None:
            return
        self._blocks[area] = registers
        for name in [name for name in self._pinned if self._points[name][1].area is area]:
            point, address = self._points[name]
            _encode_into(point, address, registers, self._pinned.pop(name))
            self._moving.discard(name)
        if self._moving:  # only what moves is refreshed: large static maps stay cheap to serve
            now = self._clock()
            for name in self._moving:
                point, address = self._points[name]
                if address.area is area:
                    _encode_into(point, address, registers, value_at(point.dtype, now, name, point.length))


class ModbusSimServer:
    """Serve simulated units over TCP (``host:port``) or on a serial ``device``."""

    def __init__(
        self,
        points: Sequence[Point] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        unit_id: int = 1,
        moving: Callable[[Point], bool] = lambda _p: True,
        clock: Callable[[], float] = time.time,
        missing: Sequence[Point] = (),
        *,
        plcs: Sequence[SimPlc] = (),
        framer: Literal["socket", "rtu"] = "socket",
        serial_device: str | None = None,
        baud: int = 9600,
    ) -> None:
        self.host, self.port = host, port
        self.plcs = list(plcs) or [SimPlc(points, unit_id, moving, clock, missing)]
        devices = [plc.device for plc in self.plcs]
        self._serial = serial_device
        self._server: ModbusTcpServer | ModbusSerialServer
        if serial_device is not None:
            self._server = ModbusSerialServer(devices, framer=FramerType.RTU, port=serial_device, baudrate=baud)
        else:
            tcp_framer = FramerType.RTU if framer == "rtu" else FramerType.SOCKET
            self._server = ModbusTcpServer(devices, framer=tcp_framer, address=(host, port))
        self._task: asyncio.Task[None] | None = None

    @property
    def requests(self) -> int:
        """Return how many requests all units answered."""
        return sum(plc.requests for plc in self.plcs)

    async def start(self) -> None:
        """Start serving; for TCP, returns once the port accepts connections."""
        self._task = asyncio.create_task(self._server.serve_forever())
        if self._serial is not None:
            await asyncio.sleep(0.2)  # the serial port opens in the background
            return
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
        """Stop serving and drop clients."""
        await self._server.shutdown()  # type: ignore[no-untyped-call]
        if self._task:
            self._task.cancel()

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point of the first unit (see :class:`SimPlc` for several units)."""
        self.plcs[0].set_value(name, value)

    def get_value(self, name: str) -> Any:
        """Return what the first unit holds for a point."""
        return self.plcs[0].get_value(name)


def _encode_into(point: Point, address: ModbusAddress, registers: list[int], value: Any) -> None:
    if address.area.is_bits:
        index, bit = divmod(address.offset, 16)
        registers[index] = codec.set_bit(registers[index], bit, bool(value))
    elif address.bit is not None:
        registers[address.offset] = codec.set_bit(registers[address.offset], address.bit, bool(value))
    else:
        words = codec.encode(point, value)
        registers[address.offset : address.offset + len(words)] = words


def simulate(points: Sequence[Point], port: int, args: Any, moving: Callable[[Point], bool]) -> ModbusSimServer:
    """Build a simulated Modbus TCP device on 127.0.0.1:``port`` for a controller's points and
    args (its unit id and framing), as the demo and the plugin's sample test run it."""
    return ModbusSimServer(points, "127.0.0.1", port, int(args.unit_id), moving, framer=args.framer)

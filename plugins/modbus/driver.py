"""Modbus TCP driver over pymodbus' async client."""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from gateway.errors import ConnectError, DeviceRejected, DriverError, IllegalAddress, RequestTimeout
from gateway.southbound import ByteOrder, Driver, DriverArgs, Point, ReadResult, split_host_port
from gateway.southbound.blocks import describe_blocks, read_blocks

from . import codec
from .addresses import Area, ModbusAddress, check_point, register_count
from .planning import MAX_REGISTERS, Block, ModbusPlan, narrow, plan_reads

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusArgs(DriverArgs):
    """``args`` of a Modbus controller."""

    unit_id: int = Field(1, ge=0, le=255)
    byte_order: ByteOrder = ByteOrder.ABCD
    max_gap: int = Field(16, ge=0, le=MAX_REGISTERS)
    max_registers: int = Field(MAX_REGISTERS, ge=1, le=MAX_REGISTERS)
    pipeline: int = 1

    @field_validator("pipeline")
    @classmethod
    def _one_request_at_a_time(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only pipeline: 1 (one outstanding request per connection) is supported so far")
        return value


class ModbusTcpDriver(Driver):
    """Reads planned blocks and writes single values on one Modbus TCP connection."""

    protocol = "modbus-tcp"
    args_model = ModbusArgs
    args: ModbusArgs

    def __init__(self, endpoint: str, timeout: float, args: DriverArgs) -> None:
        super().__init__(endpoint, timeout, args)
        host, port = split_host_port(endpoint)
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0)

    @classmethod
    def check_point(cls, point: Point, args: DriverArgs) -> None:
        """Raise AddressError when the address or type does not fit Modbus."""
        check_point(point)

    @classmethod
    def plan(cls, points: Sequence[Point], args: DriverArgs) -> ModbusPlan:
        """Merge points into blocks within the gap and size limits."""
        assert isinstance(args, ModbusArgs)
        return plan_reads(points, args.max_gap, args.max_registers)

    def describe_plan(self, plan: Any) -> str:
        """Summarise the plan."""
        assert isinstance(plan, ModbusPlan)
        return describe_blocks(plan.blocks, "request")

    @property
    def connected(self) -> bool:
        """Return True while the TCP connection is up."""
        return bool(self._client.connected)

    async def connect(self) -> None:
        """Open the TCP connection."""
        try:
            ok = await self._client.connect()
        except (OSError, ModbusException) as exc:
            raise ConnectError(f"cannot connect to {self.endpoint}: {exc}") from exc
        if not ok:
            raise ConnectError(f"cannot connect to {self.endpoint}")

    async def read(self, plan: Any) -> ReadResult:
        """Read every block; a rejected block marks only its own points bad."""
        assert isinstance(plan, ModbusPlan)
        return await read_blocks(plan, self._read_block, _decode_member, narrow)

    async def write(self, point: Point, value: Any) -> None:
        """Write one value: FC5 for coils, FC16 for registers, read-modify-write for bits."""
        address = check_point(point)
        unit = self.args.unit_id
        if not address.area.writable:
            raise DeviceRejected(f"{point.address} is in a read-only area")
        if address.area is Area.COIL:
            await self._call(self._client.write_coil, address.offset, bool(value), device_id=unit)
        elif address.bit is not None:
            current = await self._call(
                self._client.read_holding_registers, address.offset, count=1, device_id=unit
            )
            updated = codec.set_bit(current.registers[0], address.bit, bool(value))
            await self._call(self._client.write_register, address.offset, updated, device_id=unit)
        else:
            try:
                words = codec.encode(point, value)
            except (ValueError, OverflowError, TypeError, struct.error) as exc:
                raise DeviceRejected(f"{value!r} does not fit {point.dtype}: {exc}") from exc
            await self._call(self._client.write_registers, address.offset, words, device_id=unit)

    async def close(self) -> None:
        """Close the connection."""
        self._client.close()

    async def _read_block(self, block: Block) -> list[Any]:
        unit = self.args.unit_id
        if block.area is Area.COIL:
            response = await self._call(
                self._client.read_coils, block.start, count=block.count, device_id=unit
            )
            return list(response.bits)
        if block.area is Area.DISCRETE_INPUT:
            response = await self._call(
                self._client.read_discrete_inputs, block.start, count=block.count, device_id=unit
            )
            return list(response.bits)
        reader = (
            self._client.read_holding_registers
            if block.area is Area.HOLDING_REGISTER
            else self._client.read_input_registers
        )
        response = await self._call(reader, block.start, count=block.count, device_id=unit)
        return list(response.registers)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one request, translating pymodbus' outcomes into our errors."""
        try:
            response = await method(*args, **kwargs)
        except ConnectionException as exc:
            raise ConnectError(f"connection to {self.endpoint} lost: {exc}") from exc
        except ModbusIOException as exc:
            raise RequestTimeout(f"no answer from {self.endpoint} in {self.timeout} s") from exc
        except (ModbusException, OSError) as exc:
            raise DriverError(f"request to {self.endpoint} failed: {exc}") from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            text = f"device answered exception {code} ({_EXCEPTION_NAMES.get(code, 'unknown')})"
            raise IllegalAddress(text) if code == _ILLEGAL_DATA_ADDRESS else DeviceRejected(text)
        return response


def _decode_member(block: Block, point: Point, address: ModbusAddress, data: list[Any]) -> Any:
    index = address.offset - block.start
    if block.area.is_bits:
        return codec.decode_bit(data, index)
    return codec.decode(point, address, data[index : index + register_count(point)])


_ILLEGAL_DATA_ADDRESS = 2
_EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value",
    4: "device failure", 6: "device busy", 10: "gateway path unavailable",
    11: "gateway target failed to respond",
}

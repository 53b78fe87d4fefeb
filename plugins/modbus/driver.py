"""Modbus drivers over pymodbus' async clients: TCP (MBAP or RTU framing) and RTU on a serial line."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from gateway.core.errors import BadAnswer, ConnectError, DeviceRejected, DriverError, IllegalAddress, RequestTimeout
from gateway.southbound import ByteOrder, Driver, DriverArgs, Point, ReadResult, SerialLine, split_host_port
from gateway.southbound.blocks import decode_members, describe_blocks, read_blocks

from . import codec, frames, serial_line
from .addresses import Area, ModbusAddress, check_point, register_count
from .pipeline import PipelinedTcpClient
from .planning import MAX_REGISTERS, Block, ModbusPlan, narrow, plan_reads

MAX_PIPELINE = 16
_ADDRESS_FORMS = ("00001: coil", "10001: discrete input", "30001: input register", "40001: holding register",
                  "400001-465536: a register above 9999", "40001.3: bit 3 of a holding register")


class ModbusArgs(DriverArgs):
    """``args`` of a Modbus controller.

    ``write_mode: single`` writes with function codes 5 and 6 only (register by register), for
    devices that refuse 15 and 16.
    """

    unit_id: int = Field(1, ge=0, le=255, description="the device's unit (slave) id")
    byte_order: ByteOrder = Field(ByteOrder.ABCD, description="order of the bytes of 32- and 64-bit values")
    max_gap: int = Field(16, ge=0, le=MAX_REGISTERS, description="registers a read may bridge between two tags")
    max_registers: int = Field(MAX_REGISTERS, ge=1, le=MAX_REGISTERS, description="registers per read request")
    write_mode: Literal["multiple", "single"] = Field(
        "multiple", description="single: function codes 5 and 6 only, for devices that refuse 15 and 16")
    pipeline: int = Field(1, description="requests outstanding at once (TCP, 1-16; only for devices that accept it)")

    @field_validator("pipeline")
    @classmethod
    def _pipeline_depth(cls, value: int) -> int:
        if value != 1:
            raise ValueError("a serial line carries one request at a time: pipeline must be 1")
        return value


class ModbusTcpArgs(ModbusArgs):
    """``args`` of a Modbus TCP controller.

    ``framer: rtu`` sends RTU frames, for serial device servers. ``pipeline: N`` keeps up to N
    requests outstanding on the connection, for devices that accept it.
    """

    framer: Literal["socket", "rtu"] = Field("socket", description="rtu: RTU frames, for serial device servers")

    @field_validator("pipeline")
    @classmethod
    def _pipeline_depth(cls, value: int) -> int:
        if not 1 <= value <= MAX_PIPELINE:
            raise ValueError(f"pipeline must be between 1 and {MAX_PIPELINE}")
        return value

    @model_validator(mode="after")
    def _pipeline_needs_transaction_ids(self) -> ModbusTcpArgs:
        if self.pipeline > 1 and self.framer == "rtu":
            raise ValueError("RTU frames carry no transaction id, so framer: rtu cannot pipeline (use pipeline: 1)")
        return self


class _ModbusDriver(Driver[ModbusPlan, ModbusArgs]):
    """Reads planned blocks and writes values; subclasses provide the client and the line lock."""

    args: ModbusArgs
    _client: ModbusBaseClient | PipelinedTcpClient
    _lock: asyncio.Lock | asyncio.Semaphore  # how many requests may be on the line at once

    @classmethod
    def check_point(cls, point: Point, args: ModbusArgs) -> None:
        """Raise AddressError when the address or type does not fit Modbus."""
        check_point(point)

    @classmethod
    def plan(cls, points: Sequence[Point], args: ModbusArgs) -> ModbusPlan:
        """Merge points into blocks within the gap and size limits."""
        return plan_reads(points, args.max_gap, args.max_registers)

    def describe_plan(self, plan: ModbusPlan) -> str:
        """Summarise the plan."""
        return describe_blocks(plan.blocks, "request")

    @property
    def connected(self) -> bool:
        """Return True while the connection is up."""
        return bool(self._client.connected)

    async def connect(self) -> None:
        """Open the connection."""
        try:
            ok = await self._client.connect()
        except (OSError, ModbusException) as exc:
            raise ConnectError(f"cannot connect to {self.endpoint}: {exc}") from exc
        if not ok:
            raise ConnectError(f"cannot connect to {self.endpoint}")

    async def read(self, plan: ModbusPlan) -> ReadResult:
        """Read every block; a rejected block marks only its own points bad."""
        return await read_blocks(plan, self._read_block, _decode_block, narrow, concurrency=self.args.pipeline)

    async def write(self, point: Point, value: Any) -> None:
        """Write one value with FC5/6 (single) or FC15/16 (multiple); bits in registers read-modify-write."""
        address = check_point(point)
        if not address.area.writable:
            raise DeviceRejected(f"{point.address} is in a read-only area")
        single = self.args.write_mode == "single"
        unit = self.args.unit_id
        if address.area is Area.COIL:
            await self._call(frames.write_coils_request(address.offset, [bool(value)], unit, single))
            return
        if address.bit is not None:
            current = await self._call(frames.read_request(Area.HOLDING_REGISTER, address.offset, 1, unit))
            words = [codec.set_bit(current.registers[0], address.bit, bool(value))]
        else:
            try:
                words = codec.encode(point, value)
            except (ValueError, OverflowError, TypeError, struct.error) as exc:
                raise DeviceRejected(f"{value!r} does not fit {point.dtype}: {exc}") from exc
        if single:
            for index, word in enumerate(words):
                await self._call(frames.write_registers_request(address.offset + index, [word], unit, True))
        else:
            await self._call(frames.write_registers_request(address.offset, words, unit, False))

    async def _read_block(self, block: Block) -> list[Any]:
        answer = await self._call(frames.read_request(block.area, block.start, block.count, self.args.unit_id))
        return list(answer.bits if block.area.is_bits else answer.registers)

    async def _call(self, request: ModbusPDU) -> Any:
        """Run one request on the line, translating pymodbus' outcomes into our errors; an answer
        that does not answer the request is refused whole."""
        try:
            async with self._lock:
                response = await self._client.execute(False, request)
        except ConnectionException as exc:
            raise ConnectError(f"connection to {self.endpoint} lost: {exc}") from exc
        except BadAnswer as exc:
            raise BadAnswer(f"{self.endpoint} sent a frame that does not answer the request, dropped: {exc}") from exc
        except ModbusIOException as exc:
            raise RequestTimeout(f"no answer from {self.endpoint} (unit {self.args.unit_id}) "
                                 f"in {self.timeout} s") from exc
        except (ModbusException, OSError) as exc:
            raise DriverError(f"request to {self.endpoint} failed: {exc}") from exc
        if (wrong := frames.mismatch(request, response)) is not None:
            raise BadAnswer(f"{self.endpoint} sent a frame that does not answer the request, dropped: {wrong}")
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            text = f"device answered exception {code} ({_EXCEPTION_NAMES.get(code, 'unknown')})"
            raise IllegalAddress(text) if code == _ILLEGAL_DATA_ADDRESS else DeviceRejected(text)
        return response


class ModbusTcpDriver(_ModbusDriver):
    """Modbus over TCP: MBAP framing, or RTU framing for serial device servers."""

    protocol = "modbus-tcp"
    title = "Modbus TCP"
    default_port = 502
    args_model = ModbusTcpArgs
    address_forms = _ADDRESS_FORMS
    simulator = "gateway_plugins.modbus.simserver:simulate"
    args: ModbusTcpArgs

    def __init__(self, endpoint: str, timeout: float, args: ModbusTcpArgs, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        host, port = split_host_port(endpoint, self.default_port)
        if self.args.framer == "socket":
            self._client = PipelinedTcpClient(host, port, timeout, self.args.pipeline)
            self._lock = asyncio.Semaphore(self.args.pipeline)
            return
        self._client = AsyncModbusTcpClient(host, port=port, framer=FramerType.RTU, timeout=timeout, retries=0,
                                            reconnect_delay=0)
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the connection."""
        self._client.close()


class ModbusRtuDriver(_ModbusDriver):
    """Modbus RTU on a serial line shared with the other controllers on it."""

    protocol = "modbus-rtu"
    title = "Modbus RTU (serial line)"
    endpoint_example = "rs485 (a serial_ports name)"
    args_model = ModbusArgs
    address_forms = _ADDRESS_FORMS
    uses_serial_port = True

    def __init__(self, endpoint: str, timeout: float, args: ModbusArgs, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        if serial is None:
            raise ValueError(f"serial port '{endpoint}' has no settings")
        self._settings = serial
        self._line: serial_line.SharedLine | None = None

    @classmethod
    def check_endpoint(cls, endpoint: str) -> str | None:
        """The endpoint is a serial port name, checked against serial_ports by the config."""
        return None

    @property
    def connected(self) -> bool:
        """Return True while this controller holds the line and the port is open."""
        return self._line is not None and bool(self._line.client.connected)

    async def connect(self) -> None:
        """Join the shared line and open the port if nobody has."""
        if self._line is None:
            self._line = serial_line.acquire(self._settings, self.timeout)
            self._client, self._lock = self._line.client, self._line.lock
        async with self._lock:  # the controllers on the line open it once, not each on their own
            if not self._line.client.connected:
                await super().connect()

    async def close(self) -> None:
        """Let go of the line; the last controller on it closes the port."""
        if self._line is not None:
            serial_line.release(self._settings)
            self._line = None


def _decode_block(block: Block, data: list[Any], result: ReadResult) -> None:
    """Decode a block with its compiled decoder (made on first use); when the data does not fit
    it, decode the members one by one so that each failure stays with its member."""
    if block.area.is_bits:
        start = block.start
        result.values.update((point.name, bool(data[address.offset - start])) for point, address in block.members)
        return
    if block.decoder is None:
        block.decoder = codec.block_decoder(block.start, block.members)
    try:
        result.values.update(block.decoder(data))
    except (ValueError, struct.error, IndexError):
        _decode_one_by_one(block, data, result)


def _decode_member(block: Block, point: Point, address: ModbusAddress, data: list[Any]) -> Any:
    index = address.offset - block.start
    if block.area.is_bits:
        return codec.decode_bit(data, index)
    return codec.decode(point, address, data[index : index + register_count(point)])


_decode_one_by_one = decode_members(_decode_member)
_ILLEGAL_DATA_ADDRESS = 2
_EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value",
    4: "device failure", 6: "device busy", 10: "gateway path unavailable",
    11: "gateway target failed to respond",
}

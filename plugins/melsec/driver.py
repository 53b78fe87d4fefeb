"""Mitsubishi MELSEC driver: MC protocol 3E binary frames over TCP, framed here.

No library was sound enough to build on: pymcprotocol (0.3.0) blocks, has not been released for
years, and neither checks an answer's route or length nor bounds a read by the frame's limit. The
3E binary frame is small and fully specified, so the driver frames it itself on asyncio streams
(``frames.py``, pure and table-tested) and plans reads like the Modbus driver: one batch read per
merged run of devices, a refused run bisected to the devices at fault.

One request is outstanding at a time: a 3E answer carries no serial number to match it by.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from gateway.core.errors import BadAnswer, ConnectError, DeviceRejected, IllegalAddress, RequestTimeout
from gateway.southbound import Driver, DriverArgs, Point, ReadResult, SerialLine, split_host_port
from gateway.southbound.blocks import decode_members, describe_blocks, read_blocks

from . import codec, frames
from .addresses import MelsecAddress, check_point
from .planning import Block, MelsecPlan, narrow, plan_reads

_ADDRESS_END_CODES = (0xC056, 0xC05B)  # the device range is exceeded / the CPU cannot read that device


class MelsecArgs(DriverArgs):
    """``args`` of a MELSEC controller."""

    series: Literal["Q", "L", "iQ-R"] = Field("Q", description="CPU series (iQ-R names devices with 4-byte numbers)")
    network: int = Field(0, ge=0, le=239, description="network number (0: the connected station)")
    pc: int = Field(0xFF, ge=0, le=255, description="PC number (255: the connected station)")
    module_io: int = Field(0x03FF, ge=0, le=0xFFFF, description="request destination module I/O (0x03FF: the CPU)")
    station: int = Field(0, ge=0, le=255, description="request destination module station")
    max_gap: int = Field(16, ge=0, le=frames.MAX_WORDS, description="words a read may bridge between two devices")
    max_words: int = Field(frames.MAX_WORDS, ge=1, le=frames.MAX_WORDS, description="words per batch read")


class MelsecDriver(Driver[MelsecPlan, MelsecArgs]):
    """Reads planned batch reads and writes single devices on one TCP connection."""

    protocol = "mc-3e"
    title = "Mitsubishi MC protocol (3E binary)"
    endpoint_example = "192.168.1.60:5000"
    address_forms = ("D100, R2000, ZR10000, SD10: word devices (decimal)", "W1A, SW10: word devices (hex)",
                     "M20, L5, SM400: bit devices (decimal)", "X1A, Y1F, B3F: bit devices (hex)",
                     "D100.3: a bit of a word device")
    simulator = "gateway_plugins.melsec.simserver:simulate"
    args_model = MelsecArgs
    args: MelsecArgs

    def __init__(self, endpoint: str, timeout: float, args: MelsecArgs, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        self._host, self._port = split_host_port(endpoint)
        self._route = frames.Route(args.network, args.pc, args.module_io, args.station)
        self._timer = max(1, min(0xFFFF, int(timeout * 4)))  # the CPU's own wait, in 250 ms units
        self._iqr = args.series == "iQ-R"
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def check_point(cls, point: Point, args: MelsecArgs) -> None:
        """Raise AddressError when the device or type does not fit."""
        check_point(point)

    @classmethod
    def plan(cls, points: Sequence[Point], args: MelsecArgs) -> MelsecPlan:
        """Merge devices into batch reads."""
        return plan_reads(points, args.max_gap, args.max_words)

    def describe_plan(self, plan: MelsecPlan) -> str:
        """Summarise the plan."""
        return describe_blocks(plan.blocks, "batch read")

    @property
    def connected(self) -> bool:
        """Return True while the TCP connection is open."""
        return self._streams is not None and not self._streams[1].is_closing()

    async def connect(self) -> None:
        """Open the TCP connection (MC protocol has no session to open)."""
        await self.close()
        try:
            self._streams = await asyncio.wait_for(asyncio.open_connection(self._host, self._port), self.timeout)
        except TimeoutError as exc:
            raise ConnectError(f"no answer from {self.endpoint} in {self.timeout:g} s") from exc
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.endpoint}: {exc}") from exc

    async def read(self, plan: MelsecPlan) -> ReadResult:
        """Read every block; a refused block marks only its own points bad."""
        return await read_blocks(plan, self._read_block, decode_members(_decode_member), narrow)

    async def _read_block(self, block: Block) -> bytes:
        head = block.start * 16 if block.device.bits else block.start
        data = await self._exchange(frames.read_request(self._route, block.device, head, block.count, self._timer,
                                                        self._iqr))
        if len(data) != 2 * block.count:
            raise BadAnswer(f"{self.endpoint} answered {len(data)} bytes for {block.count} words, dropped")
        return data

    async def write(self, point: Point, value: Any) -> None:
        """Write one device: a bit device by bit, a word device's bit as its word read, changed and written."""
        address = check_point(point)
        device = address.device
        if device.bits:
            await self._exchange(frames.write_bit_request(self._route, device, address.number, bool(value),
                                                          self._timer, self._iqr))
            return
        if address.bit is not None:  # not atomic: MC has no bit write for word devices
            word = await self._exchange(frames.read_request(self._route, device, address.number, 1, self._timer,
                                                            self._iqr))
            data = codec.with_bit(word[:2], address.bit, bool(value))
        else:
            try:
                data = codec.encode(point, value)
            except (ValueError, TypeError, struct.error) as exc:
                raise DeviceRejected(f"{value!r} does not fit {point.dtype}: {exc}") from exc
        await self._exchange(frames.write_words_request(self._route, device, address.number, data, self._timer,
                                                        self._iqr))

    async def close(self) -> None:
        """Close the connection."""
        streams, self._streams = self._streams, None
        if streams is not None:
            streams[1].close()

    async def _exchange(self, request: bytes) -> bytes:
        """Send one request and return its answer's data; the CPU's refusal is raised with its end code."""
        if self._streams is None:
            raise ConnectError(f"not connected to {self.endpoint}")
        reader, writer = self._streams
        async with self._lock:
            try:
                writer.write(request)
                await writer.drain()
                header = await asyncio.wait_for(reader.readexactly(frames.HEADER), self.timeout)
                length = frames.answer_length(header, self._route)
                body = await asyncio.wait_for(reader.readexactly(length), self.timeout)
            except TimeoutError as exc:
                await self.close()  # an answer may still come: it would be taken for the next one's
                raise RequestTimeout(f"no answer from {self.endpoint} in {self.timeout:g} s") from exc
            except ValueError as exc:
                await self.close()
                raise BadAnswer(f"{self.endpoint} sent something that is no 3E answer, dropped: {exc}") from exc
            except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
                await self.close()
                raise ConnectError(f"connection to {self.endpoint} lost: {exc}") from exc
        end_code, data = frames.end_code_and_data(body)
        if end_code:
            text = f"the CPU answered end code 0x{end_code:04X}"
            raise IllegalAddress(text) if end_code in _ADDRESS_END_CODES else DeviceRejected(text)
        return data


def _decode_member(block: Block, point: Point, address: MelsecAddress, data: bytes) -> Any:
    return codec.decode(point, address, data, address.word - block.start)

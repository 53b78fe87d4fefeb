"""Siemens S7 driver over python-snap7's client.

The client blocks, so each connection is a :class:`BlockingSession` with its own thread: a PLC
that stops answering holds only its own thread, never one another PLC needs, and the gateway
never waits for it longer than the session's bounds (a stuck client is left to finish and
disconnect on its own; the next connect gets a new one).

snap7 checks each answer (function, item count, return code, lengths, PDU reference); an answer
it refuses for its form is a :class:`BadAnswer` (the session is opened again), one whose item
return code refuses the request a :class:`DeviceRejected`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import Any

import snap7
from pydantic import Field, field_validator, model_validator
from snap7.error import S7ConnectionError, S7Error, S7ProtocolError, S7TimeoutError
from snap7.logo import Logo
from snap7.type import Area, Parameter

from gateway.core.errors import BadAnswer, ConnectError, DeviceRejected, DriverError, IllegalAddress, RequestTimeout
from gateway.southbound import Driver, DriverArgs, Point, ReadResult, SerialLine, split_host_port
from gateway.southbound.blocking import BlockingSession
from gateway.southbound.blocks import decode_members, describe_blocks, read_blocks

from . import codec
from .addresses import S7Address, check_point
from .planning import MIN_PDU, Block, S7Plan, narrow, plan_reads

OFFERED_PDU = 480  # what snap7's client asks for: a PLC answering with more is not believed
_AREAS = {"DB": Area.DB, "M": Area.MK, "I": Area.PE, "Q": Area.PA}
_ADDRESS_ERROR_CODES = ("(0x05)", "(0x0a)")  # S7 item return codes: address out of range, object missing


class S7Args(DriverArgs):
    """``args`` of an S7 controller.

    Rack/slot addressing (S7-300/400/1200/1500), or TSAPs as ``"02.00"`` for S7-200 and LOGO!.
    ``pdu_size`` caps the PDU; by default the reads use all of what the PLC negotiates.
    """

    rack: int = Field(0, ge=0, le=7, description="the CPU's rack (S7-300/400/1200/1500)")
    slot: int = Field(1, ge=0, le=31, description="the CPU's slot (1 for S7-1200/1500, 2 for S7-300)")
    tsap_local: str | None = Field(None, description="our TSAP, e.g. 10.00 (S7-200, LOGO!; instead of rack/slot)")
    tsap_remote: str | None = Field(None, description="the PLC's TSAP, e.g. 20.00 (with tsap_local)")
    max_gap: int = Field(16, ge=0, le=1024, description="bytes a read may bridge between two tags")
    pdu_size: int | None = Field(None, ge=MIN_PDU, le=960, description="cap on the PDU (default: what the PLC offers)")

    @field_validator("tsap_local", "tsap_remote")
    @classmethod
    def _tsap_form(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9A-Fa-f]{2}\.[0-9A-Fa-f]{2}", value):
            raise ValueError(f"'{value}' is not a TSAP (expected two hex bytes, e.g. 02.00 or 10.01)")
        return value

    @model_validator(mode="after")
    def _both_tsaps(self) -> S7Args:
        if (self.tsap_local is None) != (self.tsap_remote is None):
            raise ValueError("give both tsap_local and tsap_remote, or neither (to use rack and slot)")
        return self

    @property
    def tsaps(self) -> tuple[int, int] | None:
        """Return (local, remote) TSAPs as numbers, or None for rack/slot addressing."""
        if self.tsap_local is None or self.tsap_remote is None:
            return None
        return int(self.tsap_local.replace(".", ""), 16), int(self.tsap_remote.replace(".", ""), 16)


class S7Driver(Driver[S7Plan, S7Args]):
    """Reads planned byte ranges and writes single values on one ISO-on-TCP connection."""

    protocol = "s7"
    title = "Siemens S7 (ISO on TCP)"
    endpoint_example = "192.168.1.20:102"
    default_port = 102
    address_forms = ("DB1.DBD0, DB1.DBW4, DB1.DBB6, DB1.DBX7.0: data block double word, word, byte, bit",
                     "DB1.0, DB1.8.3: data block byte offset (the measure's type gives the size), bit",
                     "MD10, MW2, MB1, M0.5: merkers", "I0.0, IW4, Q0.1, QW2: inputs and outputs")
    simulator = "gateway_plugins.s7.simserver:simulate"
    args_model = S7Args
    args: S7Args

    def __init__(self, endpoint: str, timeout: float, args: S7Args, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        self._host, self._port = split_host_port(endpoint, self.default_port)
        self._session: BlockingSession[snap7.Client] = BlockingSession(
            f"{self._host}:{self._port}", timeout, self._new_client, _disconnect)

    @classmethod
    def check_point(cls, point: Point, args: S7Args) -> None:
        """Raise AddressError when the address or type does not fit S7."""
        check_point(point)

    @classmethod
    def plan(cls, points: Sequence[Point], args: S7Args) -> S7Plan:
        """Merge points into byte ranges that fit the PDU."""
        return plan_reads(points, args.max_gap, args.pdu_size or MIN_PDU)

    def describe_plan(self, plan: S7Plan) -> str:
        """Summarise the plan."""
        return describe_blocks(plan.blocks, "area read")

    @property
    def connected(self) -> bool:
        """Return True while the ISO-on-TCP session is up."""
        return bool(self._session.client.get_connected())

    def _new_client(self) -> snap7.Client:
        client = Logo() if self.args.tsaps else snap7.Client()  # Logo: the client's TSAP connect
        client.set_param(Parameter.RecvTimeout, int(self.timeout * 1000))
        return client

    async def connect(self) -> None:
        """Open the session with rack/slot or TSAP addressing."""
        tsaps = self.args.tsaps
        address = tsaps if tsaps else (self.args.rack, self.args.slot)
        client = self._session.client
        try:
            await self._translated(self._session.connect, client.connect, self._host, *address, self._port)
        except DriverError as exc:
            raise ConnectError(f"cannot connect to {self.endpoint}: {exc}") from exc

    async def read(self, plan: S7Plan) -> ReadResult:
        """Read every block; a rejected block marks only its own points bad."""
        negotiated = min(self._session.client.get_pdu_length(), OFFERED_PDU)
        plan.fit_pdu(min(negotiated, self.args.pdu_size or negotiated))
        return await read_blocks(plan, self._read_block, decode_members(_decode_member), narrow)

    async def _read_block(self, block: Block) -> bytearray:
        client = self._session.client
        data: bytearray = await self._run(client.read_area, _AREAS[block.area], block.db, block.start, block.size)
        return data

    async def write(self, point: Point, value: Any) -> None:
        """Write one value; a bit is a read-modify-write of its byte."""
        address = check_point(point)
        area, client = _AREAS[address.area], self._session.client
        if address.bit is not None:
            current = await self._run(client.read_area, area, address.db, address.byte, 1)
            data = bytearray([codec.set_bit(current[0], address.bit, bool(value))])
        else:
            try:
                data = bytearray(codec.encode(point, value))
            except (ValueError, TypeError, struct.error) as exc:
                raise DeviceRejected(f"{value!r} does not fit {point.dtype}: {exc}") from exc
        await self._run(client.write_area, area, address.db, address.byte, data)

    async def close(self) -> None:
        """Drop the session; a call still blocking (a connect to a PLC that does not answer) is
        not waited for, so that stopping takes no longer than it must."""
        await self._session.close()

    async def _run(self, call: Any, *args: Any) -> Any:
        """Run one blocking snap7 call on the session's thread, translating its errors."""
        return await self._translated(self._session.call, call, *args)

    async def _translated(self, run: Any, call: Any, *args: Any) -> Any:
        """``run(call, *args)`` with snap7's errors translated into the gateway's."""
        try:
            return await run(call, *args)
        except S7TimeoutError as exc:
            raise RequestTimeout(f"no answer from {self.endpoint} in {self.timeout} s") from exc
        except (S7ConnectionError, ConnectionError, OSError) as exc:
            raise ConnectError(f"connection to {self.endpoint} lost: {exc}") from exc
        except S7ProtocolError as exc:
            if "operation failed" not in str(exc):  # not an item return code: the answer's form is wrong
                raise BadAnswer(f"{self.endpoint} sent an answer that does not answer the request, "
                                f"dropped: {exc}") from exc
            if any(code in str(exc) for code in _ADDRESS_ERROR_CODES):
                raise IllegalAddress(f"PLC refused the address: {exc}") from exc
            raise DeviceRejected(f"PLC refused the request: {exc}") from exc
        except S7Error as exc:
            raise DeviceRejected(f"PLC refused the request: {exc}") from exc
        except RuntimeError as exc:
            raise DriverError(f"S7 request to {self.endpoint} failed: {exc}") from exc


def _disconnect(client: snap7.Client) -> None:
    client.disconnect()


def _decode_member(block: Block, point: Point, address: S7Address, data: bytearray) -> Any:
    return codec.decode(point, address.bit, data, address.byte - block.start)

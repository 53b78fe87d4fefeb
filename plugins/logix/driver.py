"""EtherNet/IP driver for Rockwell Logix controllers, over pylogix.

pylogix was chosen over pycomm3 by trying both against cpppo's Logix server: pylogix reads any
tag by name after learning its type from one read (pycomm3 needs the controller's tag list, which
not every target serves), packs many tags into Multiple Service Packets sized to the connection,
and has no dependencies. Its client blocks, so each connection is a :class:`BlockingSession`
with its own thread and bounded waits.

pylogix reports a lost connection as a status, not an exception: after every call the driver
checks the socket and turns a lost one into a ConnectError, so the poller reconnects.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field
from pylogix import PLC

from gateway.core.errors import BadAnswer, ConnectError, DeviceRejected
from gateway.southbound import Driver, DriverArgs, Point, ReadResult, SerialLine, split_host_port
from gateway.southbound.blocking import BlockingSession

from . import codec
from .addresses import check_point
from .planning import LARGE_CONNECTION, SMALL_CONNECTION, LogixPlan, plan_reads

_CONNECTION_SIZES = {"auto": None, "small": SMALL_CONNECTION, "large": LARGE_CONNECTION}
_REJECTING = ("Path destination unknown", "Path segment error", "Object does not exist",
              "General error: Path destination unknown")


class LogixArgs(DriverArgs):
    """``args`` of a Logix controller."""

    slot: int = Field(0, ge=0, le=17, description="the controller's slot in the chassis (0 for CompactLogix)")
    connection: Literal["auto", "small", "large"] = Field(
        "auto", description="Forward Open size: auto tries large (4002 bytes) then small (504)")
    multi_service: bool = Field(True, description="pack tags into Multiple Service Packets (off: one tag a "
                                                  "request, for controllers without them, e.g. Micro800)")


class LogixDriver(Driver[LogixPlan, LogixArgs]):
    """One connected EtherNet/IP session with one Logix controller."""

    protocol = "ethernet-ip"
    title = "EtherNet/IP, Rockwell Logix"
    endpoint_example = "192.168.1.50:44818"
    default_port = 44818
    address_forms = ("Line1_Speed: a controller tag", "Program:Main.Counter: a program tag",
                     "Line1.Motor.Speed: a UDT member", "Recipe[3], Matrix[1,2]: array elements",
                     "Recipe[0]{10}: ten elements as a list", "Status.5: a bit of an integer")
    simulator = "gateway_plugins.logix.simserver:simulate"
    args_model = LogixArgs
    args: LogixArgs

    def __init__(self, endpoint: str, timeout: float, args: LogixArgs, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        self._host, self._port = split_host_port(endpoint, self.default_port)
        self._session: BlockingSession[PLC] = BlockingSession(f"{self._host}:{self._port}", timeout, self._new_plc,
                                                              PLC.Close)

    @classmethod
    def check_point(cls, point: Point, args: LogixArgs) -> None:
        """Raise AddressError when the address is not a tag path or the type has no Logix match."""
        check_point(point)

    @classmethod
    def plan(cls, points: Sequence[Point], args: LogixArgs) -> LogixPlan:
        """Pack the tags into requests (for the small connection until the controller grants more)."""
        return plan_reads(points, _CONNECTION_SIZES[args.connection] or SMALL_CONNECTION, args.multi_service)

    def describe_plan(self, plan: LogixPlan) -> str:
        """Summarise the plan."""
        return f"{len(plan.entries)} tag(s) in {plan.request_count} request(s) of {plan.connection_size} bytes"

    @property
    def connected(self) -> bool:
        """Return True while the session's socket is open."""
        return bool(self._session.client.conn.SocketConnected)

    def _new_plc(self) -> PLC:
        plc = PLC(self._host, self.args.slot, self.timeout, port=self._port)
        plc.ConnectionSize = _CONNECTION_SIZES[self.args.connection]
        return plc

    async def connect(self) -> None:
        """Register a session and open the connection (Forward Open)."""
        plc = self._session.client
        outcome = await self._session.connect(plc.conn.connect)
        if not outcome[0]:
            await self._session.close()
            raise ConnectError(f"cannot connect to {self.endpoint}: {outcome[1]}")

    async def read(self, plan: LogixPlan) -> ReadResult:
        """Read every tag the controller has not refused, in multi-service requests."""
        plc = self._session.client
        if plan.connection_size != plc.ConnectionSize:  # re-pack only when the controller granted another size
            plan.fit(plc.ConnectionSize)
        entries = [e for e in plan.entries if e.address not in plan.rejected]
        requests = [[e.address.tag, e.address.count] for e in entries]
        if plan.multi_service:
            responses = await self._call(plc, plc.Read, requests) if requests else []
        else:
            responses = [await self._call(plc, plc.Read, tag, count) for tag, count in requests]
        self._check_link(plc)
        result = ReadResult()
        missing = []
        for entry, response in zip(entries, responses, strict=True):
            status = str(response.Status)
            if status != "Success":
                for point in entry.points:
                    result.errors[point.name] = f"the controller says: {status}"
                if status in _REJECTING:
                    missing.append((entry, status))
                continue
            for point in entry.points:
                try:
                    result.values[point.name] = codec.decode(point, response.Value)
                except ValueError as exc:
                    result.errors[point.name] = str(exc)
        if result.values:  # it serves other tags, so these are not in its program: stop asking for them
            for entry, status in missing:
                plan.rejected.add(entry.address)
                result.newly_rejected.update((p.name, status) for p in entry.points)
        return result

    async def write(self, point: Point, value: Any) -> None:
        """Write one value (a list for a ``{n}`` address) as the tag's own type."""
        address = check_point(point)
        plc = self._session.client
        response = await self._call(plc, plc.Write, address.tag, value)
        self._check_link(plc)
        if str(response.Status) != "Success":
            raise DeviceRejected(f"the controller refused the write: {response.Status}")

    async def close(self) -> None:
        """Close the connection; a call still blocking is not waited for."""
        await self._session.close()

    async def _call(self, plc: PLC, call: Any, *args: Any) -> Any:
        """Run one pylogix call on the session's thread; an answer it cannot parse is a BadAnswer."""
        try:
            return await self._session.call(call, *args)
        except (struct.error, IndexError, KeyError, ValueError, TypeError) as exc:
            raise BadAnswer(f"{self.endpoint} sent an answer that could not be read, dropped: {exc!r}") from exc

    def _check_link(self, plc: PLC) -> None:
        if not plc.conn.SocketConnected:
            raise ConnectError(f"connection to {self.endpoint} lost")

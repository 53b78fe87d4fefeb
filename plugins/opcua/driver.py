"""OPC UA client driver over asyncua: batched Reads, or a subscription of monitored items.

``mode: poll`` reads the controller's nodes every cycle, as many per Read request as the server
allows (its MaxNodesPerRead, learnt on connecting). ``mode: subscribe`` creates one subscription
with a monitored item per node; the server sends what changed (sampled every
``sampling_interval``, past ``deadband``) and each cycle hands the poller the values that came
since the last one, with no request on the wire. Either way a value carries the server's source
timestamp and status: a Bad status is the measure's error, an Uncertain one a value with
``quality: uncertain``.

asyncua's own reconnection is off: the poller owns recovery (health, backoff, one log line each
way), so a lost session is a ConnectError and the next cycle connects again, subscription and all.
The asyncua side lives in ``session.py``, imported by the first connect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, model_validator

from gateway.core.errors import ConnectError
from gateway.southbound import BrowseEntry, Driver, DriverArgs, Point, ReadResult, SerialLine

from .addresses import check_point
from .planning import OpcUaPlan, plan_reads

if TYPE_CHECKING:
    from .session import UaSession

_ENDPOINT = re.compile(r"^opc\.tcp://(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(\d{1,5})(/\S*)?$")


class OpcUaArgs(DriverArgs):
    """``args`` of an OPC UA controller."""

    mode: Literal["poll", "subscribe"] = Field(
        "poll", description="poll: Read every cycle; subscribe: monitored items, the server sends changes")
    publishing_interval: float = Field(1.0, ge=0.01, le=3600, description="s between the server's notifications")
    sampling_interval: float | None = Field(None, ge=0, le=3600,
                                            description="s between the server's samples (default: the publishing "
                                                        "interval)")
    deadband: float = Field(0.0, ge=0, description="absolute change a number must make to be sent (subscribe)")
    max_nodes_per_read: int = Field(1000, ge=1, le=100_000, description="nodes per Read request (or the server's "
                                                                        "limit, if lower)")
    security_mode: Literal["None", "Sign", "SignAndEncrypt"] = Field("None", description="message security")
    security_policy: Literal["None", "Basic256Sha256"] = Field("None", description="with Sign or SignAndEncrypt")
    certificate: str | None = Field(None, description="our application certificate (PEM or DER file)")
    private_key: str | None = Field(None, description="its private key (PEM file)")
    server_certificate: str | None = Field(None, description="pin the server's certificate (file); default: "
                                                             "the one its endpoint shows")
    auth: Literal["anonymous", "username", "certificate"] = Field("anonymous", description="user identity")
    username: str | None = Field(None, description="with auth: username")
    password: SecretStr | None = Field(None, description="with auth: username")

    @model_validator(mode="after")
    def _consistent(self) -> OpcUaArgs:
        if (self.security_mode == "None") != (self.security_policy == "None"):
            raise ValueError("security_mode and security_policy go together: both None, or Sign/SignAndEncrypt "
                             "with Basic256Sha256")
        needs_certificate = self.security_mode != "None" or self.auth == "certificate"
        if needs_certificate and not (self.certificate and self.private_key):
            raise ValueError("signing, encryption and certificate auth need certificate and private_key")
        if self.auth == "username" and not (self.username and self.password):
            raise ValueError("auth: username needs username and password")
        if self.auth != "username" and (self.username or self.password):
            raise ValueError("username and password are used only with auth: username")
        return self


class OpcUaDriver(Driver[OpcUaPlan, OpcUaArgs]):
    """One session with one OPC UA server."""

    protocol = "opcua"
    title = "OPC UA (client)"
    endpoint_example = "opc.tcp://192.168.1.40:4840"
    address_forms = ("ns=2;s=Line1.Temp: string identifier", "ns=3;i=1001: numeric identifier",
                     "nsu=urn:plant:line1;s=Temp: namespace by URI", "ns=1;g=<GUID>, ns=1;b=<base64>: GUID, opaque",
                     "i=2258: namespace 0")
    simulator = "gateway_plugins.opcua.simserver:simulate"
    can_browse = True
    args_model = OpcUaArgs
    args: OpcUaArgs

    def __init__(self, endpoint: str, timeout: float, args: OpcUaArgs, serial: SerialLine | None = None) -> None:
        super().__init__(endpoint, timeout, args, serial)
        self._session: UaSession | None = None

    @classmethod
    def check_endpoint(cls, endpoint: str) -> str | None:
        """Accept ``opc.tcp://host:port[/path]``."""
        match = _ENDPOINT.match(endpoint)
        if match is None:
            return f"'{endpoint}' is not an OPC UA endpoint (expected e.g. opc.tcp://192.168.1.40:4840)"
        if not 0 < int(match.group(2)) < 65536:
            return f"'{endpoint}' has no valid port (1-65535)"
        return None

    @classmethod
    def network_address(cls, endpoint: str) -> tuple[str, int]:
        """Return the host and port of an ``opc.tcp://`` URL."""
        match = _ENDPOINT.match(endpoint)
        if match is None:
            raise ValueError(f"'{endpoint}' is not an OPC UA endpoint")
        return match.group(1).strip("[]"), int(match.group(2))

    @classmethod
    def endpoint_at(cls, host: str, port: int) -> str:
        """Return ``opc.tcp://host:port``."""
        return f"opc.tcp://{host}:{port}"

    @classmethod
    def check_point(cls, point: Point, args: OpcUaArgs) -> None:
        """Raise AddressError when the address is not a NodeId or the type has no OPC UA match."""
        check_point(point)

    @classmethod
    def plan(cls, points: Sequence[Point], args: OpcUaArgs) -> OpcUaPlan:
        """Batch the nodes for Read (or for creating monitored items)."""
        return plan_reads(points, args.max_nodes_per_read)

    def describe_plan(self, plan: OpcUaPlan) -> str:
        """Summarise the plan."""
        if self.args.mode == "subscribe":
            return (f"{len(plan.nodes)} monitored item(s), published every {self.args.publishing_interval:g} s"
                    + (f", deadband {self.args.deadband:g}" if self.args.deadband else ""))
        return f"{len(plan.nodes)} node(s) in {plan.request_count} Read request(s)"

    @property
    def connected(self) -> bool:
        """Return True while the session is up (asyncua's watchdog notices a silent server)."""
        return self._session is not None and self._session.connected

    async def connect(self) -> None:
        """Open a session (the asyncua side is imported here, by the first OPC UA controller)."""
        from .session import UaSession

        await self.close()
        session = UaSession(self.endpoint, self.timeout, self.args)
        await session.connect()
        self._session = session

    async def read(self, plan: OpcUaPlan) -> ReadResult:
        """Read every node (poll), or take the subscription's latest values (subscribe)."""
        return await self._open().read(plan)

    async def write(self, point: Point, value: Any) -> None:
        """Write one value as the node's own built-in type; the server's refusal names its status."""
        await self._open().write(point, value)

    async def browse(self, address: str | None) -> list[BrowseEntry]:
        """List the children of a node (default: the Objects folder), with a measure type for each variable."""
        return await self._open().browse(address)

    async def close(self) -> None:
        """End the session (bounded by the timeout); never raises."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _open(self) -> UaSession:
        if self._session is None:
            raise ConnectError(f"the session with {self.endpoint} is closed")
        return self._session

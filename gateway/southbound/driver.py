"""The Driver interface every southbound plugin implements.

A driver only validates, connects, reads, writes and closes. It has no loops, sleeps, retries or
logging above DEBUG: the poller owns the schedule and the recovery. Library errors are
translated into :mod:`gateway.core.errors` classes at this boundary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .points import DataType, Point, ReadResult


class DriverArgs(BaseModel):
    """Base of a plugin's ``args`` model; unknown keys are refused so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadPlan:
    """A driver's precomputed list of requests covering a controller's points."""

    request_count: int

    def reset(self) -> None:
        """Forget what reading taught the plan (e.g. rejected addresses), after a reconnect."""


@dataclass(frozen=True)
class SerialLine:
    """A serial port's settings, from the configuration's ``serial_ports``."""

    device: str
    baud: int = 9600
    bits: int = 8
    parity: str = "N"
    stopbits: int = 1


@dataclass(frozen=True)
class BrowseEntry:
    """One thing a device has: its address, its name, whether it holds more things (``folder``)
    or a value, and for a value the measure type that would read it (None if none fits)."""

    address: str
    name: str
    folder: bool
    type: DataType | None = None


PlanT = TypeVar("PlanT", bound=ReadPlan)
ArgsT = TypeVar("ArgsT", bound=DriverArgs)


class Driver(ABC, Generic[PlanT, ArgsT]):
    """One connection to one PLC, generic in its read plan and its ``args`` model, so a driver
    receives its own plan and args types (``class S7Driver(Driver[S7Plan, S7Args])``) and never
    has to check them at run time.

    A driver whose ``uses_serial_port`` is True names a ``serial_ports`` entry as its endpoint
    and receives that port's settings as ``serial``.
    """

    protocol: ClassVar[str]
    args_model: ClassVar[type[DriverArgs]] = DriverArgs  # the ArgsT of the subclass (parse_args builds it)
    uses_serial_port: ClassVar[bool] = False
    # What the web UI and the demo show of the protocol (the registry hands it out, so no page
    # keeps its own list): its name as users know it, an endpoint to show as an example, the
    # address forms ("form: meaning"), and the ``module:function`` of its simulator, if any.
    title: ClassVar[str] = ""
    endpoint_example: ClassVar[str] = "192.168.1.10:502"
    default_port: ClassVar[int | None] = None  # the protocol's port, taken when an endpoint names none
    address_forms: ClassVar[tuple[str, ...]] = ()
    simulator: ClassVar[str] = ""
    can_browse: ClassVar[bool] = False  # True: the device lists what it has (OPC UA's address space)

    def __init__(self, endpoint: str, timeout: float, args: ArgsT, serial: SerialLine | None = None) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.args = args
        self.serial = serial

    @classmethod
    @abstractmethod
    def check_point(cls, point: Point, args: ArgsT) -> None:
        """Raise AddressError if ``point`` cannot be read by this protocol."""

    @classmethod
    def check_endpoint(cls, endpoint: str) -> str | None:
        """Return an error text when ``endpoint`` is not usable, else None."""
        return _check_host_port(endpoint, cls.default_port)

    @classmethod
    def network_address(cls, endpoint: str) -> tuple[str, int]:
        """Return the host and port a checked endpoint reaches (the demo simulates loopback ones)."""
        return split_host_port(endpoint, cls.default_port)

    @classmethod
    def endpoint_at(cls, host: str, port: int) -> str:
        """Return the endpoint of a device at ``host:port`` in this protocol's form."""
        return f"{host}:{port}"

    @classmethod
    @abstractmethod
    def plan(cls, points: Sequence[Point], args: ArgsT) -> PlanT:
        """Group ``points`` into as few legal requests as possible (computed once per config)."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Return True while the connection is believed usable."""

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection; raise ConnectError or RequestTimeout."""

    @abstractmethod
    async def read(self, plan: PlanT) -> ReadResult:
        """Execute ``plan``; per-request failures become per-point errors in the result.

        Raise DriverError only when the connection itself is lost.
        """

    @abstractmethod
    async def write(self, point: Point, value: Any) -> None:
        """Write one value; raise DriverError on failure."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection; never raises."""

    def describe_plan(self, plan: PlanT) -> str:
        """Return a one-line summary of ``plan`` for the log."""
        return f"{plan.request_count} request(s)"

    async def browse(self, address: str | None) -> list[BrowseEntry]:
        """List what the device has under ``address`` (None: its top), on a connected driver, so
        that measures can be picked instead of typed; only drivers with ``can_browse`` do."""
        raise NotImplementedError(f"{self.protocol} devices cannot be browsed")


AnyDriver = Driver[Any, Any]  # a driver of any protocol, as the poller and the registry hold one


def _check_host_port(endpoint: str, default_port: int | None = None) -> str | None:
    if default_port is not None and _without_port(endpoint):
        return None if endpoint.strip("[]") else f"'{endpoint}' names no host"
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host:
        return f"'{endpoint}' is not host:port (expected e.g. 192.168.1.10:502)"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"'{endpoint}' has no valid port (1-65535)"
    return None


def split_host_port(endpoint: str, default_port: int | None = None) -> tuple[str, int]:
    """Split a checked ``host:port`` endpoint; a host alone reaches ``default_port``."""
    if default_port is not None and _without_port(endpoint):
        return endpoint.strip("[]"), default_port
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def _without_port(endpoint: str) -> bool:
    """Return True for a host alone: a name or IPv4 address without ``:``, or ``[IPv6]``."""
    return ":" not in endpoint or (endpoint.startswith("[") and endpoint.endswith("]"))


def parse_args(driver: type[AnyDriver], raw: Mapping[str, Any]) -> DriverArgs:
    """Validate a controller's ``args`` against the driver's model."""
    return driver.args_model.model_validate(dict(raw))

"""Plan Logix reads (pure): the measures' tags in multi-service requests that fit a connection.

A Logix controller reads many tags in one Multiple Service Packet as long as the request and its
reply fit the connection's packet size (504 bytes on a small Forward Open, 4002 on a large one,
which the driver learns when it connects). The plan packs tags in order the way pylogix sends
them, so ``request_count`` says how many round trips a cycle takes; an array read (``{n}``) is a
request of its own. Measures on the same tag and count share one entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.southbound import DataType, Point, ReadPlan

from .addresses import TagAddress, check_point

SMALL_CONNECTION = 504
LARGE_CONNECTION = 4002
_REQUEST_HEADER, _REPLY_HEADER = 30, 28  # bytes of a multi-service request and reply around the services
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_:]*)|\[([\d,]+)\]|(\d+)")
_REPLY_BYTES = {DataType.STRING: 88, DataType.DOUBLE: 8, DataType.LONG: 8, DataType.ULONG: 8,
                DataType.FLOAT: 4, DataType.DINT: 4, DataType.DWORD: 4}


@dataclass
class Entry:
    """One tag (and element count) to read, and the measures that show it."""

    address: TagAddress
    points: list[Point] = field(default_factory=list)

    @property
    def request_bytes(self) -> int:
        """Return the size of this tag's Read Tag service in a multi-service request."""
        return 4 + _path_bytes(self.address.tag) + 2

    @property
    def reply_bytes(self) -> int:
        """Return the size of its answer: status, type and the value(s)."""
        size = max(_REPLY_BYTES.get(p.dtype, 2) for p in self.points)
        return 8 + size * self.address.count


@dataclass
class LogixPlan(ReadPlan):
    """The controller's tags, packed into requests of at most ``connection_size`` bytes."""

    entries: list[Entry]
    connection_size: int = SMALL_CONNECTION
    multi_service: bool = True  # False: one tag a request, for controllers without Multiple Service Packets
    request_count: int = 0
    rejected: set[TagAddress] = field(default_factory=set)  # tags the controller does not have: not read again

    def __post_init__(self) -> None:
        self.fit(self.connection_size)

    def reset(self) -> None:
        """Ask for every tag again after a reconnect (the controller may have a new program)."""
        self.rejected.clear()

    def fit(self, connection_size: int) -> None:
        """Count the requests a cycle takes on a connection of ``connection_size`` bytes."""
        self.connection_size = connection_size
        self.request_count = len(self.packets())

    def packets(self) -> list[list[Entry]]:
        """Return the entries as the requests they travel in."""
        packets: list[list[Entry]] = []
        current: list[Entry] = []
        sent, received = _REQUEST_HEADER, _REPLY_HEADER
        for entry in self.entries:
            if entry.address.count > 1 or not self.multi_service:  # an array read goes alone
                packets.append([entry])
                continue
            sent += entry.request_bytes + 2
            received += entry.reply_bytes
            if current and (sent >= self.connection_size or received >= self.connection_size):
                packets.append(current)
                current = []
                sent = _REQUEST_HEADER + entry.request_bytes + 2
                received = _REPLY_HEADER + entry.reply_bytes
            current.append(entry)
        if current:
            packets.append(current)
        return packets


def plan_reads(points: Sequence[Point], connection_size: int = SMALL_CONNECTION,
               multi_service: bool = True) -> LogixPlan:
    """Build the plan: one entry per distinct tag and count, in the order the measures name them."""
    entries: dict[TagAddress, Entry] = {}
    for point in points:
        address = check_point(point)
        entries.setdefault(address, Entry(address)).points.append(point)
    return LogixPlan(list(entries.values()), connection_size, multi_service)


def _path_bytes(tag: str) -> int:
    """Return the size of a tag's symbolic path (names padded to even lengths, index segments)."""
    size = 0
    for name, index, member in _PART.findall(tag):
        if name:
            size += 2 + len(name) + len(name) % 2
        elif index:
            size += sum(2 if int(i) < 256 else 4 if int(i) < 65536 else 6 for i in index.split(","))
        elif member:
            size += 2
    return size

"""MC protocol 3E binary frames (pure): batch read and batch write requests, and their answers.

A 3E request is a fixed header (subheader 50 00, network, PC, module I/O and station, the length
of what follows), the CPU monitoring timer, the command and subcommand, the head device and the
number of points; everything is little-endian. Q and L series name a device with a 3-byte number
and a 1-byte code; iQ-R (subcommands 0002/0003) with 4 and 2 bytes. The answer starts D0 00, has
the same route, its length, and an end code (0 for success) before the data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .addresses import Device

READ, WRITE = 0x0401, 0x1401
WORD_UNITS, BIT_UNITS = 0x0000, 0x0001
IQR_OFFSET = 0x0002  # iQ-R subcommands are the Q/L ones plus 2
HEADER = 9  # answer bytes before the end code: subheader, route, length
MAX_WORDS = 960  # words a batch read or write carries
MAX_ANSWER = 2 + 2 * MAX_WORDS + 16


@dataclass(frozen=True, slots=True)
class Route:
    """Where the request goes: network, PC, module I/O and station numbers (the CPU itself by default)."""

    network: int = 0
    pc: int = 0xFF
    module_io: int = 0x03FF
    station: int = 0

    def header(self, length: int) -> bytes:
        """Return the request header for ``length`` bytes after it."""
        return struct.pack("<2sBBHBH", b"\x50\x00", self.network, self.pc, self.module_io, self.station, length)


def read_request(route: Route, device: Device, head: int, words: int, timer: int, iqr: bool = False) -> bytes:
    """Batch read of ``words`` words from ``head`` (a bit device is read 16 bits to the word)."""
    body = struct.pack("<HHH", timer, READ, WORD_UNITS + (IQR_OFFSET if iqr else 0))
    body += _device(device, head, iqr) + struct.pack("<H", words)
    return route.header(len(body)) + body


def write_words_request(route: Route, device: Device, head: int, data: bytes, timer: int, iqr: bool = False) -> bytes:
    """Batch write of ``data`` (little-endian words) from ``head``."""
    body = struct.pack("<HHH", timer, WRITE, WORD_UNITS + (IQR_OFFSET if iqr else 0))
    body += _device(device, head, iqr) + struct.pack("<H", len(data) // 2) + data
    return route.header(len(body)) + body


def write_bit_request(route: Route, device: Device, number: int, on: bool, timer: int, iqr: bool = False) -> bytes:
    """Batch write of one bit device (bit units: a point is a nibble, 1 for on)."""
    body = struct.pack("<HHH", timer, WRITE, BIT_UNITS + (IQR_OFFSET if iqr else 0))
    body += _device(device, number, iqr) + struct.pack("<H", 1) + (b"\x10" if on else b"\x00")
    return route.header(len(body)) + body


def answer_length(header: bytes, route: Route) -> int:
    """Return how many bytes follow an answer's 9-byte header; ValueError if it is no answer to us."""
    subheader, network, pc, module_io, station, length = struct.unpack("<2sBBHBH", header)
    if subheader != b"\xd0\x00":
        raise ValueError(f"the answer starts {subheader.hex()}, not d000")
    if (network, pc, module_io, station) != (route.network, route.pc, route.module_io, route.station):
        raise ValueError("the answer comes from another route than the request went to")
    if not 2 <= length <= MAX_ANSWER:
        raise ValueError(f"the answer says it has {length} bytes")
    return int(length)


def end_code_and_data(body: bytes) -> tuple[int, bytes]:
    """Split an answer's body into its end code and its data (or error information)."""
    return struct.unpack_from("<H", body)[0], body[2:]


def _device(device: Device, number: int, iqr: bool) -> bytes:
    if iqr:
        return struct.pack("<IH", number, device.code)
    return number.to_bytes(3, "little") + bytes([device.code])

"""One pymodbus serial client per serial device, shared by every controller on that line.

On RS-485 several PLCs (unit ids) share one pair of wires: only one request may be on the line
at a time, whichever controller it is for. Each request holds the line's lock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient

from gateway.southbound import SerialLine


@dataclass
class SharedLine:
    """A serial client, its lock and how many drivers use it."""

    client: AsyncModbusSerialClient
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


_LINES: dict[str, SharedLine] = {}


def acquire(settings: SerialLine, timeout: float) -> SharedLine:
    """Return the shared client of ``settings.device``, creating it for the first user."""
    line = _LINES.get(settings.device)
    if line is None:
        client = AsyncModbusSerialClient(
            settings.device, framer=FramerType.RTU, baudrate=settings.baud, bytesize=settings.bits,
            parity=settings.parity, stopbits=settings.stopbits, timeout=timeout, retries=0, reconnect_delay=0,
        )
        line = _LINES[settings.device] = SharedLine(client)
    line.users += 1
    return line


def release(settings: SerialLine) -> None:
    """Forget one user; the last one closes the port."""
    line = _LINES.get(settings.device)
    if line is None:
        return
    line.users -= 1
    if line.users <= 0:
        line.client.close()
        del _LINES[settings.device]

"""The machine the gateway runs on, as Device Supervisor's status page shows it: CPU, memory, disk,
clock synchronisation, uptime and network addresses.

Read from /proc and two system calls, never from a subprocess: the overview asks every few seconds
and a fork costs tens of milliseconds on a Cortex-A8. Off Linux each figure is None."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SIOCGIFADDR = 0x8915
_TIME_ERROR = 5  # adjtimex: the kernel's clock is not synchronised to a time source
_TIMEX_BYTES = 512  # larger than struct timex on every architecture; zeroed: modes 0 reads only


@dataclass
class _CpuSample:
    busy: int
    total: int


class MachineWatch:
    """Reads the machine's figures; the CPU load is measured between two reads."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._last_cpu = _cpu_sample()

    def read(self) -> dict[str, Any]:
        """Return the figures now (a JSON-able dict; a figure this system does not give is None)."""
        sample = _cpu_sample()
        cpu = _cpu_percent(self._last_cpu, sample)
        self._last_cpu = sample or self._last_cpu
        local = time.localtime()
        memory = _meminfo()
        disk = _disk(self._data_dir)
        return {
            "cpu_percent": cpu,
            "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "memory_total": memory.get("MemTotal"), "memory_available": memory.get("MemAvailable"),
            "gateway_memory": _own_resident_bytes(),
            "disk_total": disk[0] if disk else None, "disk_free": disk[1] if disk else None,
            "clock_synchronized": _clock_synchronized(),
            "machine_uptime": _machine_uptime(), "addresses": machine_addresses(),
            "time": time.time(), "utc_offset": local.tm_gmtoff, "time_zone": local.tm_zone,
        }


def _cpu_sample() -> _CpuSample | None:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return _CpuSample(busy=sum(fields) - idle, total=sum(fields))


def _cpu_percent(before: _CpuSample | None, now: _CpuSample | None) -> float | None:
    if before is None or now is None or now.total <= before.total:
        return None
    return round(100.0 * (now.busy - before.busy) / (now.total - before.total), 1)


def _meminfo() -> dict[str, int]:
    found = {}
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                found[key] = int(rest.split()[0]) * 1024
    return found


def _own_resident_bytes() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return None


def _disk(folder: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        usage = shutil.disk_usage(folder if folder.exists() else folder.parent)
        return usage.total, usage.free
    return None


def _clock_synchronized() -> bool | None:
    """Ask the kernel whether NTP (or another source) keeps the clock; None when it cannot say."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        state = libc.adjtimex(ctypes.create_string_buffer(_TIMEX_BYTES))
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != _TIME_ERROR


def _machine_uptime() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return float(Path("/proc/uptime").read_text().split()[0])
    return None


def machine_addresses() -> dict[str, str]:
    """Each network interface's IPv4 address (loopback left out)."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            if name == "lo":
                continue
            with contextlib.suppress(OSError):
                packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
                found[name] = socket.inet_ntoa(packed[20:24])
    return found

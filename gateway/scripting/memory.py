"""The script worker's memory as the kernel counts it: is its address-space cap in force, and how
much resident memory has it used at most.

The worker caps its own address space (RLIMIT_AS), so an allocation too big fails inside the
script with MemoryError. Some systems accept that limit without enforcing it: qemu-user, which
runs the emulated ARM gateway in CI, drops it so that its own allocations cannot fail. There the
gateway checks the worker's peak resident memory after each call instead (see the runner).
"""

from __future__ import annotations

from pathlib import Path


def address_space_capped(pid: int) -> bool:
    """Return True when the kernel holds an address-space limit for process ``pid`` (or cannot say)."""
    try:
        limits = Path(f"/proc/{pid}/limits").read_text()
    except OSError:
        return True  # no /proc to ask: the rlimit is all there is
    for line in limits.splitlines():
        if line.startswith("Max address space"):
            return line.split()[3] != "unlimited"  # Max address space <soft> <hard> bytes
    return True


def peak_resident_bytes(pid: int) -> int:
    """Return the most resident memory process ``pid`` has used (VmHWM), 0 when unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0

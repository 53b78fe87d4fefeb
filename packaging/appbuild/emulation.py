"""Run the target's binaries on this machine: qemu-user-static registered with binfmt_misc.

Registered with the F (fix binary) flag, the emulator is opened once by the kernel, so a plain
``chroot`` into a foreign root runs its programs, and their children, under emulation; the
``QEMU_CPU`` environment variable picks the CPU model (``cortex-a8`` for an IG902).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from .errors import EmulationUnavailable
from .targets import Target

BINFMT = Path("/proc/sys/fs/binfmt_misc")


def is_native(target: Target) -> bool:
    """Return True when this machine runs the target's binaries without emulation."""
    return platform.machine() == target.arch


def ensure_emulation(target: Target) -> None:
    """Register qemu-user for ``target`` with binfmt_misc if needed; raise EmulationUnavailable why not."""
    if is_native(target) or _registered(target):
        return
    if os.geteuid() != 0:
        raise EmulationUnavailable(f"running {target.arch} programs here needs qemu-user registered with "
                                   f"binfmt_misc, which only root can do (update-binfmts --enable {target.qemu})")
    if shutil.which("update-binfmts") is None or shutil.which(f"{target.qemu}-static") is None:
        raise EmulationUnavailable(f"{target.qemu}-static or update-binfmts is missing "
                                   "(apt-get install qemu-user-static binfmt-support)")
    if not (BINFMT / "status").exists():
        mounted = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            raise EmulationUnavailable(f"binfmt_misc cannot be mounted on this machine: {mounted.stderr.strip()}")
    enabled = subprocess.run(["update-binfmts", "--enable", target.qemu], capture_output=True, text=True)
    if not _registered(target):
        raise EmulationUnavailable(f"qemu-user for {target.arch} could not be registered with binfmt_misc: "
                                   f"{(enabled.stderr or enabled.stdout).strip() or 'no reason given'}")


def _registered(target: Target) -> bool:
    """Return True when binfmt_misc runs the target's binaries with qemu, even inside a chroot."""
    try:
        entry = (BINFMT / target.qemu).read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1] for line in entry.splitlines() if line.startswith("flags:")), "")
    return entry.startswith("enabled") and "F" in flags

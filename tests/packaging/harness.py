"""What the package tests share: building a package, a copy of one that installs but cannot run,
and an emulated gateway: an ARM Debian root of an older release (bullseye, glibc 2.31, no
Python), whose programs run under qemu-user as the gateway's CPU (a Cortex-A8 for armv7l) with
only busybox's tools on PATH and busybox as /bin/sh, the way a vendor's firmware offers them.

Measurements read the emulated processes from this machine's /proc: what files they map, their
CPU time, and their resident memory counted in the guest's own pages (qemu-user keeps a 32-bit
guest in one 4 GiB window of its address space; its translator and heap lie outside it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "packaging"))

from appbuild import debian, elf
from appbuild.cache import default_cache
from appbuild.emulation import ensure_emulation
from appbuild.errors import EmulationUnavailable
from appbuild.steps import Steps
from appbuild.targets import TARGETS

CPUS = {"armv7l": "cortex-a8", "aarch64": "cortex-a53"}  # IG902/IG502, IG974
BUSYBOX_BIN = "/opt/busybox/bin"
GUEST_WINDOW = 1 << 32


def require_emulation(arch: str) -> None:
    """Make this machine run ``arch`` programs, or skip the calling test saying why it cannot."""
    try:
        ensure_emulation(TARGETS[arch])
    except EmulationUnavailable as exc:
        pytest.skip(f"this machine cannot emulate an {arch} gateway, so the {arch} package is not tried: {exc}")


def build_package(arch: str, out: Path) -> tuple[Path, str]:
    """Build the app package for ``arch`` into ``out``; return it and the build's step report."""
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "build_app.py"), "--arch", arch, "--out", str(out)],
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [package] = out.glob(f"*-{arch}.tar.gz")
    return package, done.stdout


def unpack(package: Path, folder: Path) -> Path:
    """Unpack a package tarball into ``folder``; return the package's own folder."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-xzf", str(package), "-C", str(folder)], check=True)
    [unpacked] = folder.iterdir()
    return unpacked


def broken_copy(unpacked: Path, folder: Path) -> Path:
    """Copy an unpacked package into a new build whose gateway passes ``check`` but exits at once
    when it runs: an upgrade that cannot start."""
    shutil.copytree(unpacked, folder, symlinks=True)
    relative = "runtime/lib/python3/dist-packages/gateway/runtime/service.py"
    service = folder / relative
    broken = service.read_text().replace("\nlog = ", "\nraise SystemExit('broken on purpose')\nlog = ", 1)
    assert "broken on purpose" in broken
    service.write_text(broken)
    digest = hashlib.sha256(service.read_bytes()).hexdigest()
    manifest = (folder / "MANIFEST").read_text()
    manifest = re.sub(rf"sha256 \w+  {re.escape(relative)}\n", f"sha256 {digest}  {relative}\n", manifest)
    (folder / "MANIFEST").write_text(re.sub(r"build (\d+)", r"build \g<1>9", manifest))
    return folder


@dataclass
class EmulatedDevice:
    """A device root on this machine's disk, and the commands and processes that run in it."""

    root: Path
    arch: str

    @classmethod
    def make(cls, folder: Path, arch: str = "armv7l") -> EmulatedDevice:
        """Unpack a bullseye root for ``arch`` (made once, then cached) and give it a busybox userland."""
        archive = debian.root(default_cache(), "device", TARGETS[arch], ["busybox"], Steps(), suite="bullseye",
                              variant="minbase", with_security=False)
        device = cls(debian.unpack(archive, folder), arch)
        applets = device.run("/bin/busybox --list", path="/bin:/usr/bin").stdout.split()
        tools = device.path(BUSYBOX_BIN)
        tools.mkdir(parents=True)
        for applet in applets:
            (tools / applet).symlink_to("/bin/busybox")
        (device.path("/bin/sh")).unlink()
        (device.path("/bin/sh")).symlink_to("busybox")
        return device

    def path(self, inside: str) -> Path:
        """Return where a path of the device lies on this machine."""
        return self.root / inside.lstrip("/")

    def run(self, script: str, env: dict[str, str] | None = None, timeout: float = 900,
            path: str = BUSYBOX_BIN) -> subprocess.CompletedProcess[str]:
        """Run a shell script in the device with busybox's tools only, and wait for it."""
        command, host_env = debian.in_root(self.root, ["/bin/sh", "-c", script], {"PATH": path, **(env or {})},
                                            CPUS[self.arch])
        return subprocess.run(command, env=host_env, capture_output=True, text=True, timeout=timeout)

    def processes(self, marker: str) -> list[int]:
        """Return the pids of the device's processes whose command line contains ``marker``."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "root") != str(self.root):
                    continue
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue  # ended meanwhile
        return sorted(found)

    def mapped_files(self, pid: int) -> set[str]:
        """Return the files process ``pid`` maps, as paths inside the device (qemu's own excepted)."""
        files = set()
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/"):
                name = fields[5].removesuffix(" (deleted)")
                if name.startswith(str(self.root) + "/"):
                    files.add(name[len(str(self.root)):])
                elif not name.startswith("/usr/bin/qemu-"):
                    files.add(f"(this machine) {name}")
        return files


def guest_resident_bytes(pid: int) -> int:
    """Return the resident memory of an emulated 32-bit process in its own pages: the sum over the
    contiguous window of (nearly, when it starts at address 0) 4 GiB that qemu reserved for the
    guest, found around the guest's interpreter."""
    regions = []
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if match := re.match(r"([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line):
            regions.append([int(match[1], 16), int(match[2], 16), match[3], 0])
        elif line.startswith("Rss:"):
            regions[-1][3] = int(line.split()[1]) * 1024
    start = end = next(i for i, region in enumerate(regions) if str(region[2]).endswith("/bin/python3.11"))
    while start > 0 and regions[start - 1][1] == regions[start][0]:
        start -= 1
    while end + 1 < len(regions) and regions[end][1] == regions[end + 1][0]:
        end += 1
    window = regions[start:end + 1]
    size = window[-1][1] - window[0][0]
    assert GUEST_WINDOW - (16 << 20) <= size <= GUEST_WINDOW, f"a {size:#x}-byte window is not qemu's 32-bit guest"
    return sum(int(region[3]) for region in window)


def interpreter_of(executable: Path) -> str:
    """Return the loader an executable asks the kernel for (its PT_INTERP)."""
    slot = elf.read(executable).interpreter
    assert slot is not None, f"{executable} has no interpreter"
    with executable.open("rb") as binary:
        binary.seek(slot[0])
        return binary.read(slot[1]).split(b"\0")[0].decode()


def bytes_written(pids: list[int]) -> int:
    """Return what the processes have caused to be written to storage so far (flash wear)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                total += int(line.split()[1])
    return total


def cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time (user and system) the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks

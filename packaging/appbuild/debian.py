"""Debian root filesystems made with mmdebstrap, cached as tarballs, and commands run inside them.

Three kinds are made: the *runtime* root (the interpreter's packages, only extracted, so no
emulation is needed), the *build* root (compilers and headers, installed under emulation, where
sdists become wheels for the target) and, for tests, a *device* root (an older Debian without
Python, standing in for a gateway's firmware).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .cache import is_fresh, root_archive
from .emulation import ensure_emulation
from .errors import BuildError
from .steps import Steps
from .targets import DEBIAN_SUITE, Target

MIRROR = "http://deb.debian.org/debian"
RUNTIME_PACKAGES = ["python3.11-minimal", "libpython3.11-stdlib", "libstdc++6", "libgcc-s1", "zlib1g"]
BUILD_PACKAGES = ["build-essential", "python3.11-dev", "python3.11-venv", "libffi-dev", "libyaml-dev",
                  "libssl-dev"]


def sources(suite: str) -> list[str]:
    """Return the apt sources of ``suite``: the release with its updates and security fixes."""
    lines = [f"deb {MIRROR} {suite} main", f"deb {MIRROR} {suite}-updates main"]
    return [*lines, f"deb {MIRROR.replace('/debian', '/debian-security')} {suite}-security main"]


def root(cache: Path, purpose: str, target: Target, packages: list[str], steps: Steps, *,
         suite: str = DEBIAN_SUITE, variant: str = "apt", with_security: bool = True) -> Path:
    """Return a tarball of a root filesystem of ``packages`` for ``target``, made now or cached.

    ``variant="extract"`` only unpacks the packages (and what they depend on), which needs no
    emulation; any other variant runs the packages' scripts under qemu for a foreign target.
    """
    archive = root_archive(cache, purpose, suite, target.debian, packages)
    if is_fresh(archive):
        steps.note(f"cached {archive}")
        return archive
    if shutil.which("mmdebstrap") is None:
        raise BuildError("mmdebstrap is missing: apt-get install mmdebstrap (make package installs it)")
    if variant != "extract":
        ensure_emulation(target)
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".part")
    mirrors = sources(suite) if with_security else [f"deb {MIRROR} {suite} main"]
    done = subprocess.run(["mmdebstrap", "--mode=root", f"--arch={target.debian}", f"--variant={variant}",
                           "--format=tar", f"--include={','.join(packages)}", suite, str(partial), *mirrors],
                          capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BuildError(f"mmdebstrap could not make the {purpose} root ({suite}, {target.debian}):\n"
                         f"{done.stderr[-3000:]}")
    partial.replace(archive)
    steps.note(f"made {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
    return archive


def unpack(archive: Path, folder: Path) -> Path:
    """Unpack a root tarball into ``folder`` (device nodes and owners included); return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["tar", "--extract", "--file", str(archive), "--directory", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"cannot unpack {archive}: {done.stderr.strip()}")
    return folder


def in_root(folder: Path, argv: list[str], env: dict[str, str] | None = None,
            cpu: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Return the command and environment that run ``argv`` inside the root at ``folder``.

    The command gets a fresh /proc in a private mount namespace, so nothing stays mounted on this
    machine once it and its children end, and only ``env`` (plus PATH and qemu's CPU model) as
    its environment.
    """
    host_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if cpu:
        host_env["QEMU_CPU"] = cpu  # read by qemu when chroot starts the first foreign binary
    inner = {**host_env, **(env or {})}
    script = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
    command = ["unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c", script, str(folder),
               "/usr/bin/env", "-i", *[f"{key}={value}" for key, value in inner.items()], *argv]
    return command, host_env

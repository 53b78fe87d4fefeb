"""Where a build keeps what is slow to make: Debian root filesystems and wheels built from sdists.

The cache lives outside the checkout (``$PLC_GATEWAY_BUILD_CACHE``, else
``$XDG_CACHE_HOME/plc-edge-gateway/package``, else ``~/.cache/...``), so a clean checkout on the
same machine, CI's included, builds in minutes. Roots expire (``ROOT_DAYS``) so that Debian's
security updates reach the next package; built wheels are kept by name and version.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

ROOT_DAYS = 14


def default_cache() -> Path:
    """Return the cache folder this machine uses unless told otherwise."""
    if configured := os.environ.get("PLC_GATEWAY_BUILD_CACHE"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "plc-edge-gateway" / "package"


def root_archive(cache: Path, purpose: str, suite: str, arch: str, packages: list[str]) -> Path:
    """Return the path a root filesystem of ``packages`` is cached at (it may not exist yet)."""
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    return cache / "roots" / f"{purpose}-{suite}-{arch}-{key}.tar"


def is_fresh(path: Path, days: float = ROOT_DAYS) -> bool:
    """Return True when ``path`` exists and is younger than ``days``."""
    try:
        return time.time() - path.stat().st_mtime < days * 86400
    except FileNotFoundError:
        return False


def built_wheels(cache: Path, arch: str) -> Path:
    """Return (and make) the folder of wheels built from sdists for ``arch``."""
    folder = cache / "wheels" / arch
    folder.mkdir(parents=True, exist_ok=True)
    return folder

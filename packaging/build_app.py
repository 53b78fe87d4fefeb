"""Build the app package for a gateway: ``<name>-<version>-<arch>.tar.gz``, installable offline.

    python packaging/build_app.py --arch aarch64 [--python 3.11] [--out dist]     (or: make package)

The package holds the gateway's wheel (the web UI inside), every dependency as a wheel for the
target (downloaded with pip's platform options; a dependency without a wheel for the target is
named and the build fails), the default configuration and example scripts, ``install.sh`` (offline
install into a virtual environment, upgrade in place with rollback), ``uninstall.sh``, a systemd
unit, a plain start script for gateways without systemd, and ``MANIFEST`` with the version and the
sha256 of every file.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "files"
NAME = "plc-edge-gateway"
PLATFORMS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "linux_x86_64"),
    "aarch64": ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "linux_aarch64"),
    "armv7l": ("manylinux2014_armv7l", "manylinux_2_17_armv7l", "manylinux_2_31_armv7l", "linux_armv7l"),
}


class BuildError(Exception):
    """The package cannot be built; the message says why."""


def dependencies() -> list[str]:
    """Return the runtime requirements of the gateway, as pyproject.toml states them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def version() -> str:
    """Return the gateway's version."""
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


def download(requirements: list[str], arch: str, python: str, wheels: Path) -> None:
    """Download a wheel of every requirement (and what it needs) for ``arch``; raise BuildError
    naming each distribution that has no wheel for it."""
    done = subprocess.run([*_pip_download(arch, python, wheels), *requirements], capture_output=True, text=True)
    if done.returncode == 0:
        return
    missing = _without_wheels(requirements, arch, python, wheels.parent / "resolve")
    raise BuildError(f"no wheel for {arch} (Python {python}) of: " + (", ".join(missing) or "(see pip)")
                     + ("" if missing else f"\n{done.stderr[-1500:]}"))


def _pip_download(arch: str, python: str, dest: Path, platforms: tuple[str, ...] | None = None) -> list[str]:
    tags = platforms if platforms is not None else PLATFORMS[arch]
    return [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(dest),
            "--python-version", python, "--implementation", "cp", "--abi", f"cp{python.replace('.', '')}",
            "--abi", "abi3", "--abi", "none", *[option for tag in tags for option in ("--platform", tag)]]


def _without_wheels(requirements: list[str], arch: str, python: str, scratch: Path) -> list[str]:
    """Resolve the dependency closure for this machine, then try each pinned distribution alone
    for ``arch``: the ones that fail are exactly those without a wheel."""
    host = scratch / "host"
    host_platforms = PLATFORMS.get(platform.machine(), PLATFORMS["x86_64"])
    subprocess.run([*_pip_download(arch, python, host, host_platforms), *requirements], capture_output=True)
    pins = sorted({"==".join(wheel.name.split("-")[:2]) for wheel in host.glob("*.whl")})
    target = scratch / "target"
    return [pin for pin in pins if subprocess.run([*_pip_download(arch, python, target), "--no-deps", pin],
                                                  capture_output=True).returncode != 0]


def stage(folder: Path, arch: str, python: str, build_id: str) -> None:
    """Fill ``folder`` with everything the package holds."""
    wheels = folder / "wheels"
    wheels.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels),
                           str(REPO)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"the gateway's wheel did not build:\n{done.stderr[-2000:]}")
    download(dependencies(), arch, python, wheels)
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    shutil.copytree(REPO / "scripts", folder / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    for item in FILES.iterdir():
        shutil.copy(item, folder / item.name)
        if item.suffix == ".sh":
            (folder / item.name).chmod(0o755)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    lines = [f"name {NAME}", f"version {version()}", f"build {build_id}", f"arch {arch}", f"python {python}"]
    lines += [f"sha256 {_sha256(p)}  {p.relative_to(folder)}" for p in files]
    (folder / "MANIFEST").write_text("\n".join(lines) + "\n")


def build(arch: str, python: str, out: Path) -> Path:
    """Build the package; return its path."""
    if arch not in PLATFORMS:
        raise BuildError(f"unknown architecture '{arch}' (known: {', '.join(PLATFORMS)})")
    build_id = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    name = f"{NAME}-{version()}-{arch}"
    staging = REPO / "build" / "package" / name
    shutil.rmtree(staging, ignore_errors=True)
    stage(staging, arch, python, build_id)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        archive.add(staging, arcname=name)
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="x86_64", choices=sorted(PLATFORMS))
    parser.add_argument("--python", default="3.11", help="the target's Python version")
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    options = parser.parse_args()
    try:
        target = build(options.arch, options.python, options.out)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"built {target} ({target.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

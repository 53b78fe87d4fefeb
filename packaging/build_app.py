"""Build the app package for a gateway: ``<name>-<version>-<arch>.tar.gz``, installable offline on a
device that has no Python.

    python packaging/build_app.py --arch armv7l [--out dist] [--cache DIR]     (or: make package)

The package brings its own CPython 3.11 (Debian bookworm's for the target, with glibc and every
library it links) with the gateway and all its dependencies installed and compiled, so the device
needs nothing but a Linux kernel (3.2 or newer) and a POSIX shell. Wheels PyPI lacks for the
target are built from their sdists in an emulated Debian root (qemu-user). Besides the runtime
the package holds the default configuration and example scripts, ``install.sh`` (offline,
upgrade in place with rollback), ``uninstall.sh``, ``start.sh`` for gateways without systemd,
a systemd unit, and ``MANIFEST`` with the version, the loader slot and the sha256 of every file.
Each step is printed with its time; roots and built wheels are cached (see appbuild/cache.py).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path
from typing import Any

from appbuild import debian, runtime, wheels
from appbuild.cache import default_cache
from appbuild.errors import BuildError
from appbuild.steps import Steps
from appbuild.targets import DEBIAN_SUITE, PYTHON, TARGETS, Target
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "files"
NAME = "plc-edge-gateway"


def project() -> dict[str, Any]:
    """Return pyproject.toml's [project] table."""
    return dict(tomllib.loads((REPO / "pyproject.toml").read_text())["project"])


def build(target: Target, out: Path, cache: Path, steps: Steps) -> Path:
    """Build the package for ``target``; return the tarball's path."""
    version = str(project()["version"])
    build_id = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    name = f"{NAME}-{version}-{target.arch}"
    scratch = REPO / "build" / "package" / target.arch
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    staging = scratch / name
    release = staging / "runtime"
    with steps.step("resolving the dependencies"):
        pins = wheels.resolve(list(project()["dependencies"]), scratch)
        steps.note(f"{len(pins)} distributions")
    with steps.step(f"wheels for {target.arch}"):
        dependency_wheels = wheels.fetch(pins, target, scratch / "wheels", cache, steps)
        own_wheel = _gateway_wheel(scratch / "own")
    with steps.step(f"Debian {DEBIAN_SUITE} packages of the interpreter ({target.debian})"):
        source = debian.unpack(debian.root(cache, "runtime", target, debian.RUNTIME_PACKAGES, steps,
                                           variant="extract"), scratch / "debian")
    with steps.step("interpreter, standard library and dependencies"):
        runtime.copy_interpreter(source, release)
        wheels.target_install([own_wheel, *dependency_wheels], target, release / runtime.SITE)
        # the configuration reference the UI's forms link to (served from beside the UI's files)
        (release / runtime.SITE / "gateway_webui" / "docs").mkdir()
        shutil.copy(REPO / "docs" / "configuration.md", release / runtime.SITE / "gateway_webui" / "docs")
        shutil.copytree(FILES / "runtime", release, symlinks=True, dirs_exist_ok=True)
    with steps.step("leaving out what the gateway never runs"):
        steps.note(f"{runtime.leave_out_unused_parts(release) / 2**20:.1f} MiB saved")
    with steps.step("generated code as zipped bytecode"):
        steps.note(f"{runtime.zip_generated_packages(release) / 2**20:.1f} MiB saved")
    with steps.step("stripping the dependencies' binaries"):
        steps.note(f"{runtime.strip_dependencies(release, target) / 2**20:.1f} MiB saved")
    with steps.step("shared libraries"):
        steps.note("bundled: " + ", ".join(runtime.bundle_libraries(source, release, target)))
    with steps.step("rpaths and the loader slot"):
        slot = runtime.make_relocatable(release, target)
    with steps.step("bytecode"):
        runtime.compile_bytecode(release)
    with steps.step("configuration, scripts and MANIFEST"):
        _stage_files(staging)
        debian_python = _debian_version(source, f"python{PYTHON}-minimal")
        header = [f"name {NAME}", f"version {version}", f"build {build_id}", f"arch {target.arch}",
                  f"python {debian_python} (Debian {DEBIAN_SUITE})", f"loader lib/{target.loader}",
                  f"interpreter bin/python{PYTHON} {slot[0]} {slot[1]}", f"size_kb {_disk_kb(release)}"]
        _write_manifest(staging, header)
    out.mkdir(parents=True, exist_ok=True)
    package = out / f"{name}.tar.gz"
    with steps.step("tarball"):
        partial = package.with_name(package.name + ".part")
        with tarfile.open(partial, "w:gz", compresslevel=9) as archive:
            archive.add(staging, arcname=name)
        partial.replace(package)
    _report(package, release, steps)
    return package


def _gateway_wheel(folder: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder),
                           str(REPO)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"the gateway's wheel did not build:\n{done.stderr[-2000:]}")
    [wheel] = folder.glob("*.whl")
    return wheel


def _stage_files(staging: Path) -> None:
    _device_config(REPO / "config.yaml", staging / "config.yaml")
    shutil.copytree(REPO / "scripts", staging / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    for item in FILES.iterdir():
        if item.is_file():
            shutil.copy(item, staging / item.name)
            (staging / item.name).chmod(0o755 if item.suffix == ".sh" else 0o644)


def _device_config(source: Path, target: Path) -> None:
    """Write the default configuration for a device: the demo's, with the web UI reachable from the
    network, since a gateway is configured from another machine's browser (the first visitor needs
    the one-time setup code, readable by root only on the gateway)."""
    yaml = YAML()
    config = yaml.load(source.read_text())
    config["gateway"]["web"]["host"] = "0.0.0.0"
    with target.open("w") as handle:
        yaml.dump(config, handle)


def _write_manifest(staging: Path, header: list[str]) -> None:
    files = sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink())
    lines = [*header, *(f"sha256 {_sha256(p)}  {p.relative_to(staging)}" for p in files)]
    (staging / "MANIFEST").write_text("\n".join(lines) + "\n")


def _debian_version(source: Path, package: str) -> str:
    """Return the Debian version of ``package`` in an unpacked root (its changelog's first line)."""
    changelog = source / "usr" / "share" / "doc" / package / "changelog.Debian.gz"
    with gzip.open(changelog, "rt") as handle:
        first = handle.readline()
    return first.split("(", 1)[1].split(")", 1)[0] if "(" in first else "unknown"


def _disk_kb(folder: Path) -> int:
    """Return what ``folder`` takes on a file system of 4 KiB blocks."""
    return sum(-(-path.stat().st_size // 4096) * 4 for path in folder.rglob("*") if path.is_file())


def _report(package: Path, release: Path, steps: Steps) -> None:
    parts = {p.name: _disk_kb(p) for p in (release / runtime.SITE).iterdir() if p.is_dir()}
    parts["standard library"] = _disk_kb(release / runtime.STDLIB)
    parts["shared libraries"] = sum(-(-p.stat().st_size // 4096) * 4 for p in (release / "lib").glob("*.so*"))
    largest = sorted(parts.items(), key=lambda item: -item[1])[:6]
    sizes = f"package {package.stat().st_size / 2**20:.1f} MiB; installed release {_disk_kb(release) / 1024:.1f} MiB"
    steps.note(f"{sizes}; largest: " + ", ".join(f"{name} {kb / 1024:.1f} MiB" for name, kb in largest))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="x86_64", choices=sorted(TARGETS))
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    parser.add_argument("--cache", type=Path, default=default_cache(),
                        help="where Debian roots and built wheels are kept between builds")
    options = parser.parse_args()
    steps = Steps()
    try:
        package = build(TARGETS[options.arch], options.out, options.cache, steps)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"built {package} ({package.stat().st_size / 2**20:.1f} MiB) in {sum(steps.times.values()):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

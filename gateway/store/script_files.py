"""Files of user scripts (``quickfaas.file``): one folder per script file under ``data_dir``.

A script names files as it did on Device Supervisor (``/var/user/app/device_supervisor/x.txt``);
the name is taken as a path *inside* the script's folder, so no name reaches anything else:
``..``, NUL and the like are refused, and the result is checked to lie in the folder. Sizes are
capped per file and per folder.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from gateway.core.errors import GatewayError

MAX_FILE_BYTES = 1024 * 1024
MAX_FOLDER_BYTES = 16 * 1024 * 1024
MAX_FILES = 1000
READ_MODES = ("r", "rb", "rt")
WRITE_MODES = ("w", "wb", "wt", "a", "ab", "at")
_SAFE_PART = re.compile(r"[A-Za-z0-9._ -]{1,128}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class ScriptFiles:
    """The folders of the scripts' files."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def read(self, script: str, name: str, mode: str = "r", size: int = -1) -> bytes:
        """Return the bytes of a script's file (at most ``size`` when it is not negative)."""
        if mode not in READ_MODES:
            raise GatewayError(f"faas_read_file: mode {mode!r} is not a read mode ({', '.join(READ_MODES)})")
        path = self._path(script, name)
        try:
            with path.open("rb") as file:
                return file.read(min(size, MAX_FILE_BYTES) if size >= 0 else MAX_FILE_BYTES)
        except FileNotFoundError:
            raise GatewayError(f"faas_read_file: no file {name}") from None
        except OSError as exc:
            raise GatewayError(f"faas_read_file: {name}: {exc.strerror}") from exc

    def write(self, script: str, name: str, data: bytes, mode: str = "w") -> None:
        """Write (``w``) or append to (``a``) a script's file, within the size caps."""
        if mode not in WRITE_MODES:
            raise GatewayError(f"faas_write_file: mode {mode!r} is not a write mode ({', '.join(WRITE_MODES)})")
        path = self._path(script, name)
        folder = self._folder(script)
        existing = path.stat().st_size if path.is_file() else 0
        after = len(data) + (existing if mode.startswith("a") else 0)
        if after > MAX_FILE_BYTES:
            raise GatewayError(f"faas_write_file: {name} would hold {after} bytes; a script's file holds at most "
                               f"{MAX_FILE_BYTES} bytes")
        files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
        used = sum(p.stat().st_size for p in files) - existing
        if used + after > MAX_FOLDER_BYTES or (not path.exists() and len(files) >= MAX_FILES):
            raise GatewayError(f"faas_write_file: the script's files would exceed {MAX_FOLDER_BYTES // 2**20} MiB "
                               f"or {MAX_FILES} files")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab" if mode.startswith("a") else "wb") as file:
                file.write(data)
        except OSError as exc:
            raise GatewayError(f"faas_write_file: {name}: {exc.strerror}") from exc

    def _folder(self, script: str) -> Path:
        """The script's folder, named after its file (inline scripts, ``<inline>``, share one)."""
        return self._root / (_UNSAFE.sub("_", script)[:128].strip(".") or "_")

    def _path(self, script: str, name: str) -> Path:
        if not isinstance(name, str) or not name or "\0" in name or len(name) > 512:
            raise GatewayError("a file name is a non-empty string of at most 512 characters")
        parts = [p for p in PurePosixPath(name).parts if p != "/"]
        if not parts or any(not _SAFE_PART.fullmatch(p) or p in (".", "..") for p in parts):
            raise GatewayError(f"file name {name!r}: use letters, digits and . _ - in its parts, no '..'")
        folder = self._folder(script)
        path = folder.joinpath(*parts)
        if not path.resolve().is_relative_to(folder.resolve()):
            raise GatewayError(f"file name {name!r} leaves the script's folder")
        return path

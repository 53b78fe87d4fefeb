"""Change config.yaml safely: edit a comment-preserving copy, validate it, write it atomically.

The previous file is kept as ``config.yaml.bak``. An edit that does not validate changes nothing
and raises ConfigError with every problem, like ``gateway check``.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from gateway.errors import ConfigError, Problem

from .load import LoadedConfig, parse_config


def edit_config(path: Path, change: Callable[[Any], None]) -> LoadedConfig:
    """Apply ``change`` to the parsed document of ``path``, validate, and save it atomically."""
    yaml = YAML()
    yaml.preserve_quotes = True
    try:
        document = yaml.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([Problem(str(path), f"cannot read: {exc}")]) from exc
    change(document)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    loaded = parse_config(text, path)  # raises ConfigError: nothing is written
    write_atomically(path, text)
    return loaded


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a crash leaves the old or the new file, never half of one."""
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if path.exists():
            os.replace(path, path.with_name(path.name + ".bak"))
        os.replace(temporary, path)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

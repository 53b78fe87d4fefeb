"""Change config.yaml safely: edit a comment-preserving copy, validate it, write it atomically.

The previous file is kept as ``config.yaml.bak``. An edit that does not validate changes nothing
and raises ConfigError with every problem, like ``gateway check``.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from gateway.core.errors import ConfigError, Problem

from .load import LoadedConfig, parse_config
from .splice import splice_items, splice_section


def edit_config(path: Path, change: Callable[[Any], None],
                check: Callable[[LoadedConfig], None] | None = None, *,
                section: str | None = None, whole_items: bool = False, dry_run: bool = False) -> LoadedConfig:
    """Apply ``change`` to the parsed document of ``path``, validate (and ``check``, which raises
    ConfigError), and save it atomically (not with ``dry_run``: only validate).

    Given the top-level ``section`` that ``change`` edits, only that section's lines are read and
    written again, so the cost does not grow with the rest of the file; with ``whole_items``,
    ``change`` only replaces, deletes or adds whole items of a list section (they are read-only),
    and the items it keeps keep their text. The whole file is round-tripped when its layout
    cannot be edited by lines (see :mod:`gateway.config.splice`).
    """
    try:
        original = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), f"cannot read: {exc}")]) from exc
    text, document = None, None
    if section is not None and whole_items and (spliced := splice_items(original, section, change)) is not None:
        text, document = spliced
    if section is not None and text is None:
        text = splice_section(original, section, change, round_trip)
    if text is None:
        text = round_trip(original, change)
    loaded = parse_config(text, path, document)  # raises ConfigError: nothing is written
    if check is not None:
        check(loaded)
    if not dry_run:
        write_atomically(path, text)
    return loaded


def round_trip(text: str, change: Callable[[Any], None]) -> str:
    """Edit YAML ``text`` with ``change`` keeping comments, order and quotes."""
    document = load_document(text)
    if document is None:
        document = CommentedMap()
    change(document)
    return dump_document(document) if document else ""


def write_atomically(path: Path, text: str, *, mode: int | None = None, keep_backup: bool = True) -> None:
    """Replace ``path`` with ``text`` so a crash leaves the old or the new file, never half of one
    and never none. The previous file is kept as ``<name>.bak`` unless ``keep_backup`` is False;
    ``mode`` sets the new file's permissions (default: the old file's; the temporary
    file is private from the start)."""
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        if mode is None and path.exists():
            mode = path.stat().st_mode & 0o777  # an edited file keeps its permissions
        if mode is not None:
            os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if keep_backup and path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(temporary, path)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def replace_config(path: Path, text: str, check: Callable[[LoadedConfig], None] | None = None) -> LoadedConfig:
    """Validate ``text`` as a whole new configuration (and ``check`` it), then save it atomically."""
    loaded = parse_config(text, path)  # raises ConfigError: nothing is written
    if check is not None:
        check(loaded)
    write_atomically(path, text)
    return loaded


def load_document(text: str) -> Any:
    """Parse YAML ``text`` keeping comments and order, for edits that are dumped again."""
    yaml = YAML()
    yaml.preserve_quotes = True
    return yaml.load(text)


def dump_document(document: Any) -> str:
    """Return a document of :func:`load_document` as YAML text."""
    yaml = YAML()
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()

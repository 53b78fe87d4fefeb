"""``gateway import-ds``: write our config.yaml and scripts from a Device Supervisor export, then
check the result the way ``gateway check`` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.config import load_config
from gateway.config.save import write_atomically
from gateway.core.errors import ConfigError, GatewayError
from gateway.core.upload_shape import check_json
from gateway.scripting.loading import check_scripts

from .cfg_import import Imported, import_cfg

MAX_EXPORT_BYTES = 8 * 1024 * 1024  # a 10,000-measure export is some 3 MiB
MAX_EXPORT_NODES = 400_000  # a real export has one JSON value per 22 bytes
MAX_EXPORT_DEPTH = 16  # a real export nests 5 deep
_EXPORT_SHAPE = {"controllers": ("name", "protocol"), "measures": ("name", "ctrlName")}


@dataclass
class Migration:
    """What an import wrote and what it could not carry."""

    config_path: Path
    scripts: list[Path]
    report: list[str]
    problems: list[str]  # what `gateway check` says of the result (empty when it is valid)


def read_export(path: Path) -> Imported:
    """Parse a Device Supervisor 2.x ``.cfg`` file; raise GatewayError saying why it cannot be read."""
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise GatewayError(f"{path} is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise GatewayError(f"cannot read {path}: {exc}") from exc
    try:
        return parse_export(raw)
    except GatewayError as exc:
        raise GatewayError(f"{path}: {exc}") from exc


def write_migration(imported: Imported, output: Path, *, force: bool = False) -> Migration:
    """Write ``output`` (config.yaml) and ``scripts/`` beside it; check the result."""
    if output.exists() and not force:
        raise GatewayError(f"{output} exists; choose another file or pass --force to replace it")
    folder = output.parent
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    written = []
    for name, source in imported.scripts.items():
        path = folder / "scripts" / name
        write_atomically(path, source, keep_backup=False)
        written.append(path)
    text = "# Imported from a Device Supervisor export by `gateway import-ds`.\n" + yaml.safe_dump(
        imported.config, sort_keys=False, allow_unicode=True, width=120)
    write_atomically(output, text, keep_backup=force)
    problems: list[str] = []
    try:
        check_scripts(load_config(output))
    except ConfigError as exc:
        problems = [str(p) for p in exc.problems]
    return Migration(output, written, imported.report, problems)


def clashing_scripts(imported: Imported, folder: Path) -> list[str]:
    """Return the scripts the import would overwrite with a different content in ``folder/scripts``."""
    clashes = []
    for name, source in imported.scripts.items():
        existing = folder / "scripts" / name
        if existing.exists() and existing.read_text(encoding="utf-8", errors="replace") != source:
            clashes.append(f"scripts/{name}")
    return clashes


def parse_export(raw: bytes | bytearray) -> Imported:
    """Parse an uploaded ``.cfg`` export; raise GatewayError saying why it cannot be read.

    Its shape is checked on the text first (an 8 MiB upload of ``{},{},...`` is millions of
    objects), and only a file shaped like a Device Supervisor export is converted: one that is
    not would otherwise replace the configuration with an empty one."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    check_json(raw, MAX_EXPORT_NODES, MAX_EXPORT_DEPTH)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise GatewayError(f"not a Device Supervisor configuration export (.cfg JSON): {exc}") from exc
    if problem := _not_an_export(data):
        raise GatewayError(f"not a Device Supervisor 2.x .cfg export: {problem}")
    return import_cfg(data)


def _not_an_export(data: Any) -> str | None:
    """Say why ``data`` is not shaped like an export (controllers and measures, each named)."""
    if not isinstance(data, dict):
        return "the file is not a JSON object"
    for section, needed in _EXPORT_SHAPE.items():
        items = data.get(section)
        if not isinstance(items, list):
            return f"no '{section}' list"
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not all(isinstance(item.get(key), str) and item[key] for key in needed):
                return f"{section}[{index}] has no {' or '.join(needed)}"
    if not data["controllers"]:
        return "it has no controller"
    return None


def read_source(path: Path) -> Imported:
    """Read a ``.cfg`` export or a folder holding a Device Supervisor 1.x CSV set."""
    if path.is_dir():
        from .csv_import import import_csv_set

        try:
            return import_csv_set(path)
        except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
            raise GatewayError(f"{path}: cannot read the CSV files: {exc}") from exc
    return read_export(path)


def merge_into(folder: Path, config_path: Path) -> tuple[list[str], list[str]]:
    """Add the 2.x CSVs of ``folder`` to the configuration at ``config_path``; return the report and
    what ``gateway check`` says (the file changes only when that is nothing)."""
    from gateway.config.save import dump_document, load_document, replace_config

    from .csv_import import merge_csvs

    try:
        document = load_document(config_path.read_text(encoding="utf-8")) or {}
        merged, report = merge_csvs(folder, dict(document))
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise GatewayError(f"cannot read {folder} or {config_path}: {exc}") from exc
    for key, value in merged.items():
        document[key] = value
    try:
        replace_config(config_path, dump_document(document), check_scripts)
    except ConfigError as exc:
        return report, [str(p) for p in exc.problems]
    return report, []

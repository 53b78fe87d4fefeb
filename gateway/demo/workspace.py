"""The demo runs on its own copy of the configuration and scripts, under the ignored ``state/``
folder beside them: what the web UI saves goes there, never into the committed files that the
tests and the device package read.

The copy is made on the first demo and kept across demos (the UI's changes survive a restart).
When the committed files change (a pull brings a new demo), the copy starts from them again and
the previous one is kept beside it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

FOLDER = Path("state") / "demo"  # beside the committed config.yaml
SOURCE_MARK = ".copied-from"  # the fingerprint of the committed files the copy was made from


def demo_copy(config: Path) -> tuple[Path, str]:
    """Return the configuration the demo runs (the copy of ``config`` and its ``scripts/``) and
    what was done to make it ready, in a sentence for the console."""
    source = config.resolve()
    folder = source.parent / FOLDER
    copy = folder / source.name
    fingerprint = _fingerprint(source)
    mark = folder / SOURCE_MARK
    if copy.exists() and mark.exists() and mark.read_text().strip() == fingerprint:
        return copy, f"the demo runs its own copy, {copy} (kept from the last demo; remove {folder} to start over)"
    said = f"the demo runs its own copy, {copy}: the committed {source.name} and scripts are never written"
    if folder.exists():
        previous = folder.with_name(folder.name + "-previous")
        shutil.rmtree(previous, ignore_errors=True)
        folder.rename(previous)
        said += f" ({source.name} changed since the last copy: that one is in {previous})"
    folder.mkdir(parents=True)
    shutil.copy2(source, copy)
    scripts = source.parent / "scripts"
    if scripts.is_dir():
        shutil.copytree(scripts, folder / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    mark.write_text(fingerprint + "\n")
    return copy, said


def _fingerprint(config: Path) -> str:
    """Hash the configuration and the scripts beside it."""
    digest = hashlib.sha256(config.read_bytes())
    scripts = config.parent / "scripts"
    for path in sorted(scripts.rglob("*.py")) if scripts.is_dir() else []:
        digest.update(path.relative_to(scripts).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()

"""Configure a cloud from a thing certificate bundle: install the files, then edit config.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from gateway.cloud.bundle import install, things_in
from gateway.config import load_config
from gateway.config.save import edit_config
from gateway.errors import CloudError, ConfigError, Problem


def import_bundle(bundle: Path, config_path: Path, cloud: str, thing: str | None = None) -> str:
    """Install a thing's credentials and point ``cloud`` at them; return what was done.

    Nothing is left half-done: when the configuration edit is refused, the installed files go too.
    """
    config = load_config(config_path)
    if cloud not in {c.name for c in config.model.clouds}:
        known = ", ".join(c.name for c in config.model.clouds) or "none"
        raise ConfigError([Problem("clouds", f"no cloud named '{cloud}' (clouds: {known})")])
    things = things_in(bundle)
    if thing is None:
        if len(things) > 1:
            names = ", ".join(sorted(things))
            raise CloudError(f"the bundle holds {len(things)} things ({names}); pick one with --thing")
        thing = next(iter(things))
    if thing not in things:
        raise CloudError(f"no thing '{thing}' in the bundle (it holds {', '.join(sorted(things))})")
    certs_dir = config.resolve(config.model.gateway.data_dir) / "certs"
    existed = (certs_dir / thing).exists()
    credentials = install(thing, things[thing], certs_dir)

    def point_cloud_at_thing(document: Any) -> None:
        for entry in document["clouds"]:
            if entry["name"] == cloud:
                entry["client_id"] = thing
                entry["cert"] = _relative(credentials.cert, config.base_dir)
                entry["key"] = _relative(credentials.key, config.base_dir)

    try:
        edit_config(config.path, point_cloud_at_thing)
    except ConfigError:
        if not existed:
            shutil.rmtree(certs_dir / thing, ignore_errors=True)
        raise
    return (f"{thing}: certificate and key saved in {credentials.cert.parent} (key readable by its owner only); "
            f"cloud '{cloud}' now connects as {thing}")


def _relative(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)

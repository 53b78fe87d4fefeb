"""Configure a cloud from a thing certificate bundle: install the files, then edit config.yaml."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from cryptography import x509

from gateway.cloud.bundle import check_pair, describe_things, install, read_thing, thing_names
from gateway.config import load_config
from gateway.config.save import edit_config
from gateway.core.errors import CloudError, ConfigError, Problem


def import_bundle(bundle: Path, config_path: Path, cloud: str, thing: str | None = None) -> str:
    """Install a thing's credentials and point ``cloud`` at them; return what was done.

    Nothing is left half-done: when the configuration edit is refused, the installed files go too.
    """
    config = load_config(config_path)
    if cloud not in {c.name for c in config.model.clouds}:
        known = ", ".join(c.name for c in config.model.clouds) or "none"
        raise ConfigError([Problem("clouds", f"no cloud named '{cloud}' (clouds: {known})")])
    things = thing_names(bundle)
    if thing is None:
        if len(things) > 1:
            raise CloudError(f"the bundle holds {len(things)} things ({describe_things(things)}); pick one with "
                             "--thing")
        thing = things[0]
    if thing not in things:
        raise CloudError(f"no thing '{thing}' in the bundle (it holds {describe_things(things)})")
    certs_dir = config.resolve(config.model.gateway.data_dir) / "certs"
    existed = (certs_dir / thing).exists()
    credentials = install(thing, read_thing(bundle, thing), certs_dir)

    def point_cloud_at_thing(document: Any) -> None:
        for entry in document["clouds"]:
            if entry["name"] == cloud:
                entry["client_id"] = thing
                entry["cert"] = _relative(credentials.cert, config.base_dir)
                entry["key"] = _relative(credentials.key, config.base_dir)

    try:
        edit_config(config.path, point_cloud_at_thing, section="clouds")
    except ConfigError:
        if not existed:
            shutil.rmtree(certs_dir / thing, ignore_errors=True)
        raise
    return (f"{thing}: certificate and key saved in {credentials.cert.parent} (key readable by its owner only); "
            f"cloud '{cloud}' now connects as {thing}")


def _relative(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def install_pem_files(config_path: Path, cloud: str, cert: bytes | None, key: bytes | None,
                      root_ca: bytes | None) -> str:
    """Check and install uploaded PEM files for ``cloud`` and point its configuration at them.

    The certificate, key (which must belong to the certificate) and CA are parsed first; files go
    to ``<data_dir>/certs/cloud-<hash of the name>/`` under fixed names, the key readable by its
    owner only. Nothing is changed when any file or the configuration edit is refused.
    """
    config = load_config(config_path)
    if cloud not in {c.name for c in config.model.clouds}:
        raise ConfigError([Problem("clouds", f"no cloud named '{cloud}'")])
    if not (cert or key or root_ca):
        raise CloudError("upload a certificate, a key or a CA certificate")
    if (cert is None) != (key is None):
        raise CloudError("upload the certificate and its private key together")
    if cert is not None and key is not None:
        check_pair(cert, key)
    if root_ca:
        try:
            x509.load_pem_x509_certificate(root_ca)
        except ValueError as exc:
            raise CloudError("the CA certificate is not a PEM certificate") from exc
    folder = config.resolve(config.model.gateway.data_dir) / "certs" / f"cloud-{_digest(cloud)}"
    staged = folder.with_name(folder.name + ".new")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True, mode=0o700)
    files = {"cert": ("cert.pem", cert, 0o644), "key": ("key.pem", key, 0o600), "root_ca": ("ca.pem", root_ca, 0o644)}
    for name, data, mode in files.values():
        if data is not None:
            (staged / name).write_bytes(data)
            (staged / name).chmod(mode)

    def point_cloud_at_files(document: Any) -> None:
        for entry in document["clouds"]:
            if entry["name"] == cloud:
                for field, (name, data, _mode) in files.items():
                    if data is not None:
                        entry[field] = _relative(folder / name, config.base_dir)

    backup = folder.with_name(folder.name + ".old")
    shutil.rmtree(backup, ignore_errors=True)
    if folder.exists():
        for name, data, _mode in files.values():  # files not uploaded now stay as they were
            if data is None and (folder / name).exists():
                shutil.copy2(folder / name, staged / name)
        folder.rename(backup)
    staged.rename(folder)
    try:
        edit_config(config.path, point_cloud_at_files, section="clouds")
    except ConfigError:
        shutil.rmtree(folder, ignore_errors=True)
        if backup.exists():
            backup.rename(folder)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    uploaded = ", ".join(field for field, (_n, data, _m) in files.items() if data is not None)
    return f"cloud '{cloud}': {uploaded} saved (the key is readable by its owner only and never shown again)"


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]

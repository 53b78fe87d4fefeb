"""Import thing credentials from a certificate bundle zip (Telenor Managed IoT Cloud, AWS IoT).

A bundle holds one folder per thing with ``cert.pem`` and ``privkey.pem``. Nothing in the zip
becomes a path as it is: the folder name must be a valid thing name, only those two files are
read, sizes are capped, the PEMs must parse and the key must belong to the certificate. The
files are written under the gateway's data folder, the key readable by its owner only.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.core.errors import CloudError

THING_NAME = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")  # AWS IoT's thing-name alphabet
MAX_FILE_BYTES = 64 * 1024
MAX_ENTRIES = 1000  # a bundle of a few hundred things; thousands of tiny entries only cost memory
NEEDED = ("cert.pem", "privkey.pem")


@dataclass(frozen=True)
class ThingCredentials:
    """A thing's certificate and key as written to disk."""

    thing: str
    cert: Path
    key: Path


def thing_names(bundle: Path) -> list[str]:
    """Return the names of the things in a bundle that have both files, read from its directory
    only (nothing is inflated); raise CloudError explaining what is wrong."""
    with _open(bundle) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise CloudError(f"{bundle.name} has {len(infos)} entries; a bundle has at most {MAX_ENTRIES}")
        found: dict[str, set[str]] = {}
        for info in infos:
            if (located := _locate(info)) is not None:
                found.setdefault(located[0], set()).add(located[1])
    complete = sorted(thing for thing, files in found.items() if files == set(NEEDED))
    if not complete:
        raise CloudError(f"{bundle.name} has no folder with both cert.pem and privkey.pem")
    return complete


def read_thing(bundle: Path, thing: str) -> dict[str, bytes]:
    """Return one thing's two files, each inflated no further than its size cap (the sizes a zip
    states are not trusted)."""
    files: dict[str, bytes] = {}
    with _open(bundle) as archive:
        for info in archive.infolist():
            located = _locate(info)
            if located is None or located[0] != thing:
                continue
            try:
                with archive.open(info) as entry:
                    data = entry.read(MAX_FILE_BYTES + 1)
            except (OSError, zipfile.BadZipFile, RuntimeError) as exc:  # RuntimeError: encrypted
                raise CloudError(f"{info.filename} cannot be read from the bundle: {exc}") from exc
            if len(data) > MAX_FILE_BYTES:
                raise CloudError(f"{info.filename} is larger than {MAX_FILE_BYTES // 1024} KiB")
            files[located[1]] = data
    return files


def describe_things(names: list[str], shown: int = 10) -> str:
    """Name a few things of a bundle, and how many more there are."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _open(bundle: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CloudError(f"{bundle.name} is not a readable zip file: {exc}") from exc


def _locate(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """Return (thing, file) for an entry that is one of a thing's files, None for any other entry;
    raise CloudError for an entry that would point outside the bundle or a bad folder name."""
    parts = PurePosixPath(info.filename).parts
    if info.filename.startswith("/") or ".." in parts:
        raise CloudError(f"entry '{info.filename}' points outside the bundle; refusing the whole bundle")
    if info.is_dir() or len(parts) < 2 or parts[-1] not in NEEDED:
        return None
    if not THING_NAME.match(parts[-2]):
        raise CloudError(f"folder '{parts[-2]}' in the bundle is not a valid thing name")
    return parts[-2], parts[-1]


def install(thing: str, files: dict[str, bytes], certs_dir: Path) -> ThingCredentials:
    """Check a thing's certificate and key, and write them under ``certs_dir/<thing>/``."""
    try:
        check_pair(files["cert.pem"], files["privkey.pem"])
    except CloudError as exc:
        raise CloudError(f"{thing}: {exc}") from exc
    folder = certs_dir / thing
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "privkey.pem"
    cert_path.write_bytes(files["cert.pem"])
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)
    key_path.write_bytes(files["privkey.pem"])
    return ThingCredentials(thing, cert_path, key_path)


def check_pair(cert: bytes, key: bytes) -> x509.Certificate:
    """Return the certificate of a PEM pair; raise CloudError unless both parse and the key is the
    certificate's own."""
    try:
        certificate = x509.load_pem_x509_certificate(cert)
    except ValueError as exc:
        raise CloudError("the certificate is not a PEM certificate") from exc
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as exc:
        raise CloudError("the key is not an unencrypted PEM private key") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (certificate.public_key().public_bytes(serialization.Encoding.DER, public)
            != private.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise CloudError("the key does not belong to the certificate")
    return certificate

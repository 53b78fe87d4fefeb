"""Self-signed certificates the gateway makes for what it serves (the admin UI over HTTPS, the
OPC UA server), and the one way their private keys are written: readable by the gateway only."""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 3650


def self_signed(key: CertificateIssuerPrivateKeyTypes, common_name: str, alternative: Sequence[x509.GeneralName],
                key_usage: x509.KeyUsage) -> x509.Certificate:
    """Return a certificate for ``key`` signed by itself, valid for ten years from five minutes
    ago (a clock a little behind still accepts it), for serving and for being a client."""
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(list(alternative)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256()))


def write_private_key(path: Path, key: CertificateIssuerPrivateKeyTypes | bytes) -> None:
    """Write a private key (an object, or PEM bytes as uploaded) that only the gateway's user can read."""
    data = key if isinstance(key, bytes) else key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(data)


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint as browsers show it (colon-separated upper-case hex)."""
    digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))

"""The OPC UA server's application instance certificate: made at its first start (self-signed
RSA 2048, as Basic256Sha256 needs, with the application URI in its subject alternative names)
and kept in the service's state folder, so clients that trusted it keep trusting it."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.core.certificates import self_signed, write_private_key


def ensure_certificate(folder: Path, application_uri: str, host: str) -> tuple[Path, Path]:
    """Return the certificate (DER) and private key (PEM) files, made first if they are not there
    or were made for another application URI."""
    certificate_path, key_path = folder / "server.der", folder / "server-key.pem"
    if certificate_path.exists() and key_path.exists() and _uri_of(certificate_path) == application_uri:
        return certificate_path, key_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alternative: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri),
                                           x509.DNSName(socket.gethostname())]
    with contextlib.suppress(ValueError):  # a host name, or 0.0.0.0: no address to name
        alternative.append(x509.IPAddress(ipaddress.ip_address(host)))
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                          data_encipherment=True, key_agreement=False, key_cert_sign=True, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    certificate = self_signed(key, f"{socket.gethostname()} edge gateway", alternative, usage)
    write_private_key(key_path, key)
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    return certificate_path, key_path


def _uri_of(path: Path) -> str | None:
    try:
        certificate = x509.load_der_x509_certificate(path.read_bytes())
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound, OSError):
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None

"""HTTPS for the admin UI: a certificate made at the first start (or the site's own, uploaded),
the TLS context that serves it, and the plain-HTTP listener that only redirects to it.

The made certificate is self-signed (ECDSA P-256: a Cortex-A8 signs a handshake in milliseconds)
for the gateway's host name, its addresses, localhost and 127.0.0.1. A browser warns about it the
first time; the SHA-256 fingerprint printed with the setup code (and shown in Settings) is how an
operator checks it is this gateway's. An uploaded certificate replaces it on the running server:
new connections get it, nothing restarts."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.core.certificates import fingerprint, self_signed, write_private_key
from gateway.core.errors import GatewayError

FOLDER = "web"  # under data_dir
CERTIFICATE, KEY, MADE_MARK = "certificate.pem", "key.pem", ".self-signed"


@dataclass(frozen=True)
class WebCertificate:
    """What the Settings page and the console say of the certificate served."""

    fingerprint: str
    subject: str
    names: tuple[str, ...]
    not_after: float
    self_signed: bool  # made by the gateway (not uploaded)

    def to_json(self) -> dict[str, Any]:
        """The certificate as the API shows it."""
        return {"fingerprint": self.fingerprint, "subject": self.subject, "names": list(self.names),
                "not_after": self.not_after, "made_by_the_gateway": self.self_signed}


class WebTls:
    """The admin UI's certificate files and the TLS context serving them."""

    def __init__(self, data_dir: Path, gateway_name: str, addresses: list[str]) -> None:
        self.folder = data_dir / FOLDER
        self.certificate_path, self.key_path = self.folder / CERTIFICATE, self.folder / KEY
        if not (self.certificate_path.exists() and self.key_path.exists()):
            self._make(gateway_name, addresses)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            self.context.load_cert_chain(self.certificate_path, self.key_path)
        except (ssl.SSLError, OSError) as exc:
            raise GatewayError(f"the web UI's certificate in {self.folder} cannot be used ({exc}); remove "
                               "the folder to have a new one made") from exc

    def describe(self) -> WebCertificate:
        """Say what is served now."""
        certificate = x509.load_pem_x509_certificate(self.certificate_path.read_bytes())
        try:
            alternative = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = tuple([*alternative.get_values_for_type(x509.DNSName),
                           *(str(a) for a in alternative.get_values_for_type(x509.IPAddress))])
        except x509.ExtensionNotFound:
            names = ()
        return WebCertificate(fingerprint(certificate), certificate.subject.rfc4514_string(), names,
                              certificate.not_valid_after_utc.timestamp(), (self.folder / MADE_MARK).exists())

    def install(self, certificate_pem: bytes, key_pem: bytes) -> WebCertificate:
        """Serve an uploaded certificate (with its chain) and key from now on, once they are checked:
        PEM, the key unencrypted and the certificate's, not expired. Raise GatewayError saying what
        is wrong; then nothing has changed."""
        _check_pair(certificate_pem, key_pem)
        staged_certificate, staged_key = self.folder / (CERTIFICATE + ".new"), self.folder / (KEY + ".new")
        staged_certificate.write_bytes(certificate_pem)
        write_private_key(staged_key, key_pem)
        try:
            self.context.load_cert_chain(staged_certificate, staged_key)
        except (ssl.SSLError, OSError) as exc:
            staged_certificate.unlink(missing_ok=True)
            staged_key.unlink(missing_ok=True)
            raise GatewayError(f"the certificate cannot be served: {exc}") from exc
        os.replace(staged_key, self.key_path)
        os.replace(staged_certificate, self.certificate_path)
        (self.folder / MADE_MARK).unlink(missing_ok=True)
        return self.describe()

    def _make(self, gateway_name: str, addresses: list[str]) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        host = socket.gethostname()
        alternative: list[x509.GeneralName] = [x509.DNSName(name) for name in dict.fromkeys([host, "localhost"])]
        for address in dict.fromkeys(["127.0.0.1", *addresses]):
            with contextlib.suppress(ValueError):
                alternative.append(x509.IPAddress(ipaddress.ip_address(address)))
        usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False)
        certificate = self_signed(key, f"{gateway_name} admin UI", alternative, usage)
        write_private_key(self.key_path, key)
        self.certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (self.folder / MADE_MARK).write_text("made by the gateway at its first start\n")


def _check_pair(certificate_pem: bytes, key_pem: bytes) -> None:
    if not certificate_pem or not key_pem:
        raise GatewayError("both the certificate and its private key are needed (PEM files)")
    try:
        certificate = x509.load_pem_x509_certificates(certificate_pem)[0]
    except ValueError as exc:
        raise GatewayError("the certificate is not a PEM certificate") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError as exc:
        raise GatewayError("the private key is protected by a password; upload it without one") from exc
    except ValueError as exc:
        raise GatewayError("the private key is not a PEM private key") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != certificate.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise GatewayError("the private key is not the certificate's")
    if certificate.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        raise GatewayError(f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}")


def redirect_app(https_port: int) -> web.Application:
    """The plain-HTTP listener: every request is sent to the same path over HTTPS."""

    async def to_https(request: web.Request) -> web.StreamResponse:
        host = request.url.host or "127.0.0.1"
        target = request.url.with_scheme("https").with_host(host).with_port(https_port)
        raise web.HTTPPermanentRedirect(str(target))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", to_https)
    return app

"""TLS for cloud connections: TLS 1.2 or newer, the server always verified, never plaintext.

AWS IoT on port 443 needs ALPN ``x-amzn-mqtt-ca``. Connection failures are told in the user's
terms (TLS, auth, DNS, refused), never as a bare exception text.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from gateway.config import Cloud

AWS_ALPN = "x-amzn-mqtt-ca"


def client_context(cloud: Cloud, resolve: Callable[[str], Path]) -> ssl.SSLContext:
    """Build the SSL context of a cloud connection; raise ssl.SSLError or OSError with the cause."""
    context = ssl.create_default_context(cafile=str(resolve(cloud.root_ca)) if cloud.root_ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cloud.cert and cloud.key:
        context.load_cert_chain(str(resolve(cloud.cert)), str(resolve(cloud.key)))
    if cloud.type == "aws-iot" and cloud.effective_port == 443:
        context.set_alpn_protocols([AWS_ALPN])
    return context


def describe_failure(exc: BaseException) -> str:
    """Say why a connection failed, in the terms the status page and the log use."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the server's certificate did not verify ({exc.verify_message}); check root_ca and host"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or str(exc)).lower()
        if "key_values_mismatch" in reason:
            return "TLS: the private key does not belong to the certificate"
        if "expired" in reason:
            return "TLS: the broker refused the client certificate as expired"
        if "unknown ca" in reason or "certificate" in reason or "handshake" in reason:
            return f"TLS: the broker refused the client certificate ({exc.reason})"
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"DNS: cannot resolve the host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "refused: nothing listens there (is the broker running?)"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "the broker closed the connection during setup (TLS or authentication refused?)"
    if isinstance(exc, FileNotFoundError):
        return f"certificate file missing: {exc.filename}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def describe_socket_error(text: str) -> str:
    """Say why paho's network thread lost a connection, from the error text it logged."""
    upper = text.upper()
    if "CERTIFICATE_EXPIRED" in upper:
        return "TLS: the broker refused the client certificate as expired"
    if "UNKNOWN_CA" in upper or "BAD_CERTIFICATE" in upper or "CERTIFICATE_REQUIRED" in upper:
        return f"TLS: the broker refused the client certificate ({text})"
    if "EOF OCCURRED IN VIOLATION OF PROTOCOL" in upper:
        return ("TLS: the broker closed the connection right after the handshake, most likely refusing the "
                "client certificate (expired, or issued by a CA it does not trust)")
    return f"connection closed by the broker: {text}"

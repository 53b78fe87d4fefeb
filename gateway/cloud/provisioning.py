"""AWS IoT fleet provisioning by claim: trade the claim certificate for the thing's own, once.

With the claim certificate: ``$aws/certificates/create-from-csr/json`` (the key never leaves the
gateway) or ``$aws/certificates/create/json``, then
``$aws/provisioning-templates/<template>/provision/json`` with the certificate's ownership token.
The thing's certificate and key are written under ``<data_dir>/certs/<thing>/`` (key 0600) with a
record of the result; from then on the gateway connects as the thing and never provisions again.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from gateway.cloud.bundle import THING_NAME
from gateway.cloud.tls import client_context
from gateway.config import Cloud
from gateway.core.errors import CloudError


@dataclass(frozen=True)
class Provisioned:
    """The identity provisioning produced."""

    thing: str
    cert: Path
    key: Path


def record_path(state_dir: Path, cloud: str) -> Path:
    """Return where the result of provisioning ``cloud`` is recorded."""
    return state_dir / "certs" / f"provisioned-{cloud}.json"


def load_provisioned(state_dir: Path, cloud: str) -> Provisioned | None:
    """Return the recorded identity, if this cloud was provisioned before."""
    path = record_path(state_dir, cloud)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return Provisioned(record["thing"], Path(record["cert"]), Path(record["key"]))


def provision(cloud: Cloud, resolve: Callable[[str], Path], state_dir: Path,
              parameters: Mapping[str, str]) -> Provisioned:
    """Run the claim flow (blocking; call in a thread); raise CloudError saying what went wrong."""
    settings = cloud.provisioning
    assert settings is not None
    claim = cloud.model_copy(update={"cert": settings.claim_cert, "key": settings.claim_key})
    exchange = _Exchange(claim, resolve, settings.timeout)
    try:
        if settings.method == "csr":
            key = ec.generate_private_key(ec.SECP256R1())
            csr = (x509.CertificateSigningRequestBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway")]))
                   .sign(key, hashes.SHA256()))
            request = csr.public_bytes(serialization.Encoding.PEM).decode()
            created = exchange.call("$aws/certificates/create-from-csr/json", {"certificateSigningRequest": request})
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        else:
            created = exchange.call("$aws/certificates/create/json", {})
            key_pem = str(created["privateKey"]).encode()
        registered = exchange.call(f"$aws/provisioning-templates/{settings.template}/provision/json",
                                   {"certificateOwnershipToken": created["certificateOwnershipToken"],
                                    "parameters": dict(parameters)})
    finally:
        exchange.close()
    thing = str(registered.get("thingName") or "")
    if not THING_NAME.match(thing):
        raise CloudError(f"provisioning returned no usable thing name ({thing!r})")
    return _save(state_dir, cloud.name, thing, str(created["certificatePem"]).encode(), key_pem)


def _save(state_dir: Path, cloud: str, thing: str, cert_pem: bytes, key_pem: bytes) -> Provisioned:
    folder = state_dir / "certs" / thing
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "privkey.pem"
    cert.write_bytes(cert_pem)
    key.touch(mode=0o600, exist_ok=True)
    key.chmod(0o600)
    key.write_bytes(key_pem)
    record = record_path(state_dir, cloud)
    record.write_text(json.dumps({"thing": thing, "cert": str(cert), "key": str(key)}))
    return Provisioned(thing, cert, key)


class _Exchange:
    """Request/response over MQTT: publish to a topic, wait for its /accepted or /rejected."""

    def __init__(self, claim: Cloud, resolve: Callable[[str], Path], timeout: float) -> None:
        self._timeout = timeout
        self._answers: dict[str, tuple[str, dict[str, Any]]] = {}
        self._arrived = threading.Condition()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"provision-{uuid.uuid4().hex[:12]}")
        if claim.uses_tls:
            self._client.tls_set_context(client_context(claim, resolve))
        self._client.on_message = self._on_message
        self._client.connect(claim.host, claim.effective_port, keepalive=60)
        self._client.loop_start()

    def call(self, topic: str, body: dict[str, Any]) -> dict[str, Any]:
        """Publish ``body`` to ``topic`` and return the accepted answer; raise CloudError if rejected."""
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.subscribe([(f"{topic}/accepted", 1), (f"{topic}/rejected", 1)])
        if not subscribed.wait(self._timeout):
            raise CloudError(f"provisioning: no answer to SUBSCRIBE for {topic}")
        self._client.publish(topic, json.dumps(body), 1)
        with self._arrived:
            if not self._arrived.wait_for(lambda: topic in self._answers, self._timeout):
                raise CloudError(f"provisioning: no answer on {topic} within {self._timeout:g} s")
            outcome, answer = self._answers.pop(topic)
        if outcome == "rejected":
            raise CloudError(f"provisioning refused on {topic}: {answer.get('statusCode', '')} "
                             f"{answer.get('errorCode', '')} {answer.get('errorMessage', '')}".strip())
        return answer

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        base, _, outcome = message.topic.rpartition("/")
        try:
            answer = json.loads(message.payload or b"{}")
        except (ValueError, RecursionError):  # whatever the broker sent, the waiter gets an answer
            answer = {"errorMessage": "the answer is not JSON"}
            outcome = "rejected"
        if not isinstance(answer, dict):
            answer, outcome = {"errorMessage": "the answer is not a JSON object"}, "rejected"
        with self._arrived:
            self._answers[base] = (outcome, answer)
            self._arrived.notify_all()

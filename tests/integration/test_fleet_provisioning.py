"""Fleet provisioning by claim against Mosquitto set up like AWS IoT, with a provisioning responder.

The claim certificate may only use the provisioning topics; the thing's own certificate may only
publish under things/<thing>/. Data reaching the subscriber proves the gateway switched identity.
"""

from __future__ import annotations

import asyncio
import json
import stat
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import Subscriber
from tests.integration.aws_broker import AwsLikeBroker, start_aws_like_broker
from tests.integration.gateway_harness import running_gateway, write_config
from tests.tls_certs import issue

THING = "pump-SN42"
ACL = ("user claim\ntopic readwrite $aws/certificates/#\ntopic readwrite $aws/provisioning-templates/#\n"
       "user service\ntopic readwrite $aws/#\n"
       "pattern readwrite things/%u/#\n"
       "user observer\ntopic read #\n")


class ProvisioningService:
    """Answers create-from-csr, create and provision like AWS IoT; issues certificates for THING."""

    def __init__(self, aws: AwsLikeBroker) -> None:
        self.aws = aws
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._tokens: set[str] = set()
        ca, cert, key = aws.client_tls("service")
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="provisioning-service")
        self._client.tls_set(ca_certs=str(ca), certfile=str(cert), keyfile=str(key))
        ready = threading.Event()
        self._client.on_connect = lambda c, *_: c.subscribe([
            ("$aws/certificates/create-from-csr/json", 1), ("$aws/certificates/create/json", 1),
            ("$aws/provisioning-templates/+/provision/json", 1)])
        self._client.on_subscribe = lambda *_: ready.set()
        self._client.on_message = self._on_message
        self._client.connect(aws.host, 8883)
        self._client.loop_start()
        assert ready.wait(5)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        body = json.loads(message.payload)
        self.requests.append((message.topic, body))
        if message.topic.endswith("create-from-csr/json"):
            csr = x509.load_pem_x509_csr(body["certificateSigningRequest"].encode())
            answer = {"certificatePem": self._sign(csr.public_key()), "certificateId": "c1",
                      "certificateOwnershipToken": self._token()}
        elif message.topic.endswith("create/json"):
            key = ec.generate_private_key(ec.SECP256R1())
            answer = {"certificatePem": self._sign(key.public_key()), "certificateId": "c2",
                      "privateKey": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode(),
                      "certificateOwnershipToken": self._token()}
        else:
            token = body.get("certificateOwnershipToken")
            if token not in self._tokens or body.get("parameters", {}).get("SerialNumber") != "SN42":
                self._client.publish(message.topic + "/rejected", json.dumps(
                    {"statusCode": 400, "errorCode": "InvalidParameters", "errorMessage": "bad token or serial"}), 1)
                return
            answer = {"thingName": THING, "deviceConfiguration": {}}
        self._client.publish(message.topic + "/accepted", json.dumps(answer), 1)

    def _token(self) -> str:
        token = f"token-{len(self._tokens)}"
        self._tokens.add(token)
        return token

    def _sign(self, public_key: Any) -> str:
        issued = issue(self.aws.ca, self.aws.certs / "issued", THING)  # a fresh key pair; keep only the subject
        certificate = (x509.CertificateBuilder().subject_name(issued.cert.subject).issuer_name(self.aws.ca.cert.subject)
                       .public_key(public_key).serial_number(x509.random_serial_number())
                       .not_valid_before(issued.cert.not_valid_before_utc).not_valid_after(issued.cert.not_valid_after_utc)
                       .sign(self.aws.ca.key, hashes.SHA256()))
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("method", ["csr", "create"])
async def test_claim_then_thing_identity_and_never_again(tmp_path: Path, method: str) -> None:
    aws = start_aws_like_broker(tmp_path, ACL)
    service = ProvisioningService(aws)
    ca, claim_cert, claim_key = aws.client_tls("claim")
    observer = Subscriber(8883, f"things/{THING}/#", client_id="observer", host=aws.host,
                          tls=aws.client_tls("observer"))
    config = {
        "gateway": {"name": "fleet", "data_dir": str(tmp_path / "state"), "labels": {"serial": "SN42"}},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "Level", "controller": "Sim", "group": "g", "address": "ramp/10", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 0.2}],
        "clouds": [{"name": "aws", "type": "aws-iot", "host": aws.host, "port": 8883, "root_ca": str(ca),
                    "provisioning": {"template": "GatewayFleet", "claim_cert": str(claim_cert),
                                     "claim_key": str(claim_key), "method": method,
                                     "parameters": {"SerialNumber": "${serial}"}}}],
        "publish": [{"name": "up", "cloud": "aws", "topic": f"things/{THING}/data", "qos": 1, "groups": ["g"]}],
    }
    path = write_config(tmp_path, config)
    try:
        for _ in range(2):  # the second start must not provision again
            async with running_gateway(path) as gateway:
                message = await asyncio.to_thread(observer.get, 15)
                assert message.topic == f"things/{THING}/data"
                assert gateway.connectors["aws"].cloud.client_id == THING
    finally:
        observer.close()
        service.close()
        aws.broker.close()
    kinds = [topic.rsplit("/", 2)[-2] for topic, _ in service.requests]
    assert kinds == ["create-from-csr" if method == "csr" else "create", "provision"]
    assert service.requests[1][1]["parameters"] == {"SerialNumber": "SN42"}
    key = tmp_path / "state" / "certs" / THING / "privkey.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    if method == "csr":  # the key never left the gateway
        assert "privateKey" not in json.dumps(service.requests)

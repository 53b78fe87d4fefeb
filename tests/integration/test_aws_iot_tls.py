"""aws-iot against Mosquitto configured like AWS IoT Core: mutual TLS, identity as username, an ACL.

CA, server and client certificates are made by the test. A good thing certificate delivers; a
wrong CA, an expired certificate and a key of another certificate each give the user a clear reason.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from tests.conftest import Subscriber
from tests.integration.aws_broker import THING, AwsLikeBroker, aws_like_broker
from tests.integration.gateway_harness import running_gateway, write_config
from tests.tls_certs import Issued, issue, make_ca
from tests.waiting import until

__all__ = ["aws_like_broker"]  # the fixture


def _config(tmp_path: Path, aws: AwsLikeBroker, cert: Issued, key_path: Path, root_ca: Path) -> Path:
    config: dict[str, Any] = {
        "gateway": {"name": "aws", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "Level", "controller": "Sim", "group": "g", "address": "ramp/10", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 0.2}],
        "clouds": [{"name": "aws", "type": "aws-iot", "host": aws.host, "port": 8883, "client_id": THING,
                    "cert": str(cert.cert_path), "key": str(key_path), "root_ca": str(root_ca), "keepalive": 30}],
        "publish": [{"name": "up", "cloud": "aws", "topic": f"things/{THING}/data", "qos": 1, "groups": ["g"]}],
    }
    return write_config(tmp_path, config)


async def _last_error(path: Path) -> str:
    async with running_gateway(path) as gateway:
        state = gateway.connectors["aws"].state
        await until(lambda: state.last_error, "the connection failure", 5)
        assert not state.connected
        return state.last_error


async def test_the_thing_certificate_delivers(tmp_path: Path, aws_like_broker: AwsLikeBroker) -> None:
    aws = aws_like_broker
    thing = issue(aws.ca, aws.certs, THING)
    observer = issue(aws.ca, aws.certs, "observer")
    subscriber = Subscriber(8883, f"things/{THING}/#", client_id="observer", host=aws.host,
                            tls=(aws.ca.cert_path, observer.cert_path, observer.key_path))
    try:
        async with running_gateway(_config(tmp_path, aws, thing, thing.key_path, aws.ca.cert_path)) as gateway:
            message = await asyncio.to_thread(subscriber.get, 10)
            assert gateway.connectors["aws"].state.connected
    finally:
        subscriber.close()
    assert message.topic == f"things/{THING}/data"
    assert json.loads(message.payload)["group_name"] == "g"


async def test_a_server_signed_by_another_ca_is_refused(tmp_path: Path, aws_like_broker: AwsLikeBroker) -> None:
    aws = aws_like_broker
    thing = issue(aws.ca, aws.certs, THING)
    other_ca = make_ca(tmp_path / "other", "other-root-ca")
    reason = await _last_error(_config(tmp_path, aws, thing, thing.key_path, other_ca.cert_path))
    assert "TLS: the server's certificate did not verify" in reason


async def test_an_expired_thing_certificate_is_refused(tmp_path: Path, aws_like_broker: AwsLikeBroker) -> None:
    aws = aws_like_broker
    expired = issue(aws.ca, aws.certs, THING, expired=True)
    reason = await _last_error(_config(tmp_path, aws, expired, expired.key_path, aws.ca.cert_path))
    assert reason in (  # the broker's alert, or (a race) only its closing the connection
        "TLS: the broker refused the client certificate as expired",
        "TLS: the broker closed the connection right after the handshake, most likely refusing the client "
        "certificate (expired, or issued by a CA it does not trust)",
    ), reason


async def test_the_key_of_another_certificate_is_named(tmp_path: Path, aws_like_broker: AwsLikeBroker) -> None:
    aws = aws_like_broker
    thing = issue(aws.ca, aws.certs, THING)
    stranger = issue(aws.ca, aws.certs, "stranger")
    reason = await _last_error(_config(tmp_path, aws, thing, stranger.key_path, aws.ca.cert_path))
    assert reason == "TLS: the private key does not belong to the certificate"


async def test_port_443_offers_alpn_x_amzn_mqtt_ca(tmp_path: Path) -> None:
    """AWS IoT serves MQTT on 443 only to clients that ask for ALPN x-amzn-mqtt-ca."""
    host = f"127.0.0.{random.randint(2, 250)}"
    ca = make_ca(tmp_path / "pki", "ca")
    server_cert = issue(ca, tmp_path / "pki", "server", server_ip=host)
    thing = issue(ca, tmp_path / "pki", THING)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server_cert.cert_path, server_cert.key_path)
    context.set_alpn_protocols(["x-amzn-mqtt-ca"])
    negotiated: list[str | None] = []
    listener = socket.create_server((host, 443))

    def serve_one() -> None:
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True) as tls:
            negotiated.append(tls.selected_alpn_protocol())

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    config = _config(tmp_path, AwsLikeBroker(None, host, ca, tmp_path), thing, thing.key_path,  # type: ignore[arg-type]
                     ca.cert_path)
    text = config.read_text().replace("port: 8883", "port: 443")
    config.write_text(text)
    try:
        async with running_gateway(config):
            await asyncio.to_thread(thread.join, 10)
    finally:
        listener.close()
    assert negotiated == ["x-amzn-mqtt-ca"]

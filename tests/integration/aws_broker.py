"""Mosquitto configured like AWS IoT Core: TLS on 8883, client certificates required, the
certificate's CN as the username, and an ACL; certificates made by the test."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.demo.broker import MosquittoBroker
from tests.tls_certs import Issued, issue, make_ca

THING = "thing-7"
DEFAULT_ACL = (f"user {THING}\ntopic readwrite things/{THING}/#\ntopic readwrite $aws/things/{THING}/#\n"
               "user observer\ntopic read #\n")


@dataclass
class AwsLikeBroker:
    broker: MosquittoBroker
    host: str
    ca: Issued
    certs: Path

    def client_tls(self, name: str) -> tuple[Path, Path, Path]:
        """Issue a client certificate for CN ``name``; return (ca, cert, key) paths."""
        issued = issue(self.ca, self.certs, name)
        return self.ca.cert_path, issued.cert_path, issued.key_path


def start_aws_like_broker(folder: Path, acl: str = DEFAULT_ACL) -> AwsLikeBroker:
    host = f"127.0.0.{random.randint(2, 250)}"  # 8883 is fixed by the aws-iot rules; a loopback address of its own
    certs = folder / "pki"
    ca = make_ca(certs, "test-root-ca")
    server = issue(ca, certs, "broker", server_ip=host)
    acl_file = certs / "acl"
    acl_file.write_text(acl)
    config = (f"cafile {ca.cert_path}\ncertfile {server.cert_path}\nkeyfile {server.key_path}\n"
              f"require_certificate true\nuse_identity_as_username true\ntls_version tlsv1.2\nacl_file {acl_file}\n")
    broker = MosquittoBroker(8883, host=host, extra_config=config)
    broker.start()
    return AwsLikeBroker(broker, host, ca, certs)


@pytest.fixture
def aws_like_broker(tmp_path: Path) -> Iterator[AwsLikeBroker]:
    aws = start_aws_like_broker(tmp_path)
    yield aws
    aws.broker.close()

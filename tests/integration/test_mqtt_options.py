"""Generic MQTT: username and password (never logged), a wrong password explained, the last will,
a subscription the broker refuses."""

from __future__ import annotations

import asyncio
import glob
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.demo.broker import MosquittoBroker
from tests.conftest import Subscriber, free_port
from tests.integration.gateway_harness import running_gateway, write_config
from tests.waiting import until

SECRET = "s3cret-Pa55"


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "gateway", SECRET], check=True,
                   capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "watcher", "watch"], check=True, capture_output=True)
    broker = MosquittoBroker(free_port(), extra_config=f"allow_anonymous false\npassword_file {passwords}\n")
    broker.start()
    yield broker
    broker.close()


def _config(tmp_path: Path, port: int, password: str, subscribe: tuple[str, ...] = (), **cloud: Any) -> Path:
    config: dict[str, Any] = {
        "gateway": {"name": "auth", "data_dir": "state",
                    "web": {"host": "127.0.0.1", "port": free_port(), "tls": False}},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "Level", "controller": "Sim", "group": "g", "address": "ramp/10", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 0.2}],
        "clouds": [{"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": port, "client_id": "gw-auth",
                    "username": "gateway", "password": password, **cloud}],
        "publish": [{"name": "up", "cloud": "default", "topic": "auth/data", "qos": 1, "groups": ["g"]}],
        "subscribe": [{"name": f"sub{i}", "cloud": "default", "topic": topic, "qos": 1, "function": "on_message",
                       "script": "scripts/on_message.py"} for i, topic in enumerate(subscribe)],
    }
    return write_config(tmp_path, config, {"on_message.py": "def on_message(topic, payload):\n    pass\n"})


class _Watcher(Subscriber):
    def __init__(self, port: int, topic: str) -> None:
        super().__init__(port, topic, client_id="watcher", username=("watcher", "watch"))


async def test_credentials_deliver_and_are_never_logged(tmp_path: Path, password_broker: MosquittoBroker,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    watcher = _Watcher(password_broker.port, "auth/#")
    try:
        async with running_gateway(_config(tmp_path, password_broker.port, SECRET)):
            message = await asyncio.to_thread(watcher.get, 10)
    finally:
        watcher.close()
    assert message.topic == "auth/data"
    assert SECRET not in caplog.text


async def test_a_wrong_password_is_explained(tmp_path: Path, password_broker: MosquittoBroker) -> None:
    async with running_gateway(_config(tmp_path, password_broker.port, "wrong")) as gateway:
        state = gateway.connectors["default"].state
        await until(lambda: state.last_error, "the refusal", 5)
    assert state.last_error.startswith("broker refused the connection: Not authorized"), state.last_error


def test_the_last_will_announces_a_dead_gateway(tmp_path: Path, password_broker: MosquittoBroker) -> None:
    will = {"topic": "status/gw-auth", "payload": "offline", "qos": 1, "retain": False}
    path = _config(tmp_path, password_broker.port, SECRET, will=will)
    watcher = _Watcher(password_broker.port, "#")
    gateway = subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(path)], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = watcher.get(15)  # connected and publishing
        assert first.topic == "auth/data"
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait()
        while (message := watcher.get(10)).topic != "status/gw-auth":
            pass
    finally:
        if gateway.poll() is None:
            gateway.kill()
        watcher.close()
    assert message.payload == b"offline"



def _policy_broker(tmp_path: Path, acls: list[dict[str, Any]]) -> MosquittoBroker:
    """A broker whose user ``gateway`` may only do what ``acls`` allow, enforced by mosquitto's
    dynamic-security plugin (the plain ACL file never refuses a SUBSCRIBE, AWS IoT policies do)."""
    plugins = glob.glob("/usr/lib/*/mosquitto_dynamic_security.so")
    assert plugins, "the mosquitto package ships mosquitto_dynamic_security.so"
    policy = tmp_path / "dynsec.json"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", str(policy), "gateway", SECRET], check=True,
                   capture_output=True)
    document = json.loads(policy.read_text())
    document["roles"][0]["acls"] = acls
    policy.write_text(json.dumps(document))
    broker = MosquittoBroker(free_port(), extra_config=f"allow_anonymous false\nplugin {plugins[0]}\n"
                                                       f"plugin_opt_config_file {policy}\n")
    broker.start()
    return broker


@pytest.mark.parametrize("mqtt_version", ["3.1.1", "5"])
async def test_a_refused_subscription_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                mqtt_version: str) -> None:
    broker = _policy_broker(tmp_path, [{"acltype": "publishClientSend", "topic": "auth/#", "allow": True},
                                       {"acltype": "subscribePattern", "topic": "cmd/allowed", "allow": True}])
    caplog.set_level(logging.INFO, logger="gateway.cloud")
    try:
        path = _config(tmp_path, broker.port, SECRET, subscribe=("cmd/allowed", "cmd/forbidden"),
                       mqtt_version=mqtt_version)
        async with running_gateway(path) as gateway:
            await asyncio.wait_for(gateway.connectors["default"].subscribed.wait(), 15)
    finally:
        broker.close()
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(refused) == 1 and "subscription to cmd/forbidden" in refused[0], refused
    assert "default: subscribed to cmd/allowed\n" in caplog.text

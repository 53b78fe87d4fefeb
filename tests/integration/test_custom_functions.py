"""Custom functions: a startup function runs once, a periodic one on its period, a message one on
each message of its trigger topic; all publish and write."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
from pathlib import Path
from typing import Any

from paho.mqtt import publish as mqtt_publish

from gateway.config import load_config
from gateway.demo.broker import MosquittoBroker
from tests.integration.gateway_harness import mqtt_cloud, running_gateway, running_service, write_config
from tests.waiting import until

STARTUP = """
def main(wizard_api):
    wizard_api.write_plc_values({"SP": 5})
    wizard_api.awsiot_publish("fn/started", {"hello": True}, 1)
"""
PERIODIC = """
state = {"n": 0}


def main(wizard_api):
    state["n"] += 1
    wizard_api.awsiot_publish("fn/tick", {"n": state["n"]}, 1)
"""


def _gateway(tmp_path: Path, broker_port: int, functions: list[dict[str, Any]], **gateway: Any) -> dict[str, Any]:
    """One simulated controller with a writable SP in group g, the test broker, and ``functions``."""
    return {
        "gateway": {"name": "fn", "data_dir": str(tmp_path / "state"), **gateway},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "SP", "controller": "Sim", "group": "g", "address": "sine", "type": "FLOAT",
                      "access": "rw"}],
        "groups": [{"name": "g", "upload_interval": 60}],
        "clouds": [mqtt_cloud(broker_port)],
        "functions": functions,
    }


async def test_startup_and_periodic_functions(tmp_path: Path, broker: MosquittoBroker, subscribe: Any) -> None:
    config = _gateway(tmp_path, broker.port, [
        {"name": "hello", "mode": "startup", "script": "scripts/startup.py", "cloud": "default"},
        {"name": "tick", "mode": "periodic", "period": 0.2, "script": "scripts/tick.py", "cloud": "default"},
    ])
    path = write_config(tmp_path, config, {"startup.py": STARTUP, "tick.py": PERIODIC})
    subscriber = subscribe("fn/#")
    received: list[tuple[str, Any]] = []
    async with running_gateway(path) as gateway:
        while sum(1 for topic, _ in received if topic == "fn/tick") < 4:
            message = await asyncio.to_thread(subscriber.get, 10)
            received.append((message.topic, json.loads(message.payload)))
        await until(lambda: gateway.latest.get("Sim", "SP").value == 5, "the written setpoint to be read back", 2)
        setpoint = gateway.latest.get("Sim", "SP").value
    assert [payload for topic, payload in received if topic == "fn/started"] == [{"hello": True}]
    ticks = [payload["n"] for topic, payload in received if topic == "fn/tick"]
    assert ticks == list(range(1, len(ticks) + 1))
    assert setpoint == 5


ON_MESSAGE = """
from quickfaas.remotebus import publish
from quickfaas.measure import write_plc_values


def main(message):
    if isinstance(message, dict):
        write_plc_values({"SP": message["sp"]})
    publish("fn/seen", {"message": message}, 1)
"""


async def test_a_message_function_runs_on_each_message_of_its_trigger_topic(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    config = _gateway(tmp_path, broker.port, [{"name": "on_cmd", "mode": "message", "trigger_topic": "fn/in/+",
                                               "cloud": "default", "script": "scripts/on_message.py"}])
    path = write_config(tmp_path, config, {"on_message.py": ON_MESSAGE})
    subscriber = subscribe("fn/seen")
    async with running_gateway(path) as gateway:
        seen: list[Any] = []

        async def answer_to(topic: str, payload: str, expected: Any) -> None:
            """Publish until the function's answer comes (its subscription is made just after the connection)."""
            for _ in range(40):
                await asyncio.to_thread(mqtt_publish.single, topic, payload, 1, hostname="127.0.0.1", port=broker.port)
                with contextlib.suppress(queue.Empty):
                    while True:  # until the broker has nothing more for now
                        message = json.loads((await asyncio.to_thread(subscriber.get, 0.5)).payload)["message"]
                        seen.append(message)
                        if message == expected:
                            return
            raise AssertionError(f"no answer {expected!r}; seen {seen}")

        await answer_to("fn/in/a", json.dumps({"sp": 7}), {"sp": 7})  # JSON arrives decoded
        await answer_to("fn/in/b", "plain text", "plain text")
        await until(lambda: gateway.latest.get("Sim", "SP").value == 7, "the written setpoint to be read back", 5)
    assert set(map(json.dumps, seen)) == {'{"sp": 7}', '"plain text"'}


CHANGE_CONFIG = """
import time
from quickfaas.config import get, set
from quickfaas.remotebus import publish


def main(wizard_api):
    config = get()
    if config["groups"][0]["uploadInterval"] != 60:
        return  # the change was made: this is the restarted gateway
    refused = dict(config, controllers=[])
    config["labels"] = [item for item in config["labels"] if item["key"] != "site"] + [{"key": "site", "value": "b"}]
    answer = {"refused": set(refused), "labels": set(config)}
    try:
        answer["update_group"] = wizard_api.update_group({"group_name": "g", "upload_interval": 30})
    except Exception as e:
        answer["update_group"] = str(e)
    time.sleep(1)  # the restart the change makes waits for this call: what it publishes is not lost
    publish("fn/config", answer, 1)
"""

CHANGE_FUNCTION = [{"name": "change", "mode": "startup", "script": "scripts/change.py", "cloud": "default"}]


async def test_a_script_changes_intervals_and_labels_only_when_allowed(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    config = _gateway(tmp_path, broker.port, CHANGE_FUNCTION, labels={"site": "a"}, scripts_change_config=True)
    path = write_config(tmp_path, config, {"change.py": CHANGE_CONFIG})
    subscriber = subscribe("fn/config")
    async with running_service(path, web=False) as service:
        answer = json.loads((await asyncio.to_thread(subscriber.get, 10)).payload)
        await until(lambda: service.config.model.groups[0].upload_interval == 30, "the change to run", 20)
        await until(lambda: service.gateway is not None, "the gateway to run again", 20)
    assert answer == {"refused": "failed", "labels": "success",  # only intervals and labels may change
                      "update_group": {"results": {"group_name": "g", "upload_interval": 30}}}
    saved = load_config(path).model
    assert (saved.groups[0].upload_interval, saved.gateway.labels) == (30.0, {"site": "b"})
    assert [c.name for c in saved.controllers] == ["Sim"]


async def test_without_permission_a_script_changes_nothing(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    config = _gateway(tmp_path, broker.port, CHANGE_FUNCTION, labels={"site": "a"})
    path = write_config(tmp_path, config, {"change.py": CHANGE_CONFIG})
    before = path.read_text()
    subscriber = subscribe("fn/config")
    async with running_gateway(path):
        answer = json.loads((await asyncio.to_thread(subscriber.get, 10)).payload)
    assert answer == {"refused": "failed", "labels": "failed", "update_group": (
        "update_group: scripts cannot change the gateway's configuration: change it on the web UI's Configuration "
        "page or in config.yaml (or allow it with gateway: {scripts_change_config: true})")}
    assert path.read_text() == before

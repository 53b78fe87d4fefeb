"""What anyone who can publish to a subscribe topic can do: fail their own messages, nothing more.

Messages built to make the subscribe script raise (JSON nested 100,000 deep raises RecursionError,
past the example's ``except ValueError``) never switch the rule off for the next sender; a WORD
setpoint is written only from a number, never from ``true``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.publish as mqtt_publish
import pytest_asyncio

from gateway.config import load_config, measure_point
from gateway.demo.broker import MosquittoBroker
from gateway.rules.subscriptions import MAX_MESSAGE_BYTES
from gateway.scripting.runner import FAULT_AFTER
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import mqtt_cloud, running_gateway, write_config
from tests.waiting import until

DEEP = "[" * 100_000 + "]" * 100_000


def _config(tmp_path: Path, broker_port: int, modbus_port: int) -> dict[str, Any]:
    return {
        "gateway": {"name": "hostile", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}",
                         "sample_period": 0.2, "timeout": 1.0}],
        "measures": [{"name": "Speed", "controller": "PLC1", "group": "g", "address": "40010", "type": "WORD",
                      "access": "rw"},
                     {"name": "Run", "controller": "PLC1", "group": "g", "address": "00001", "type": "BIT",
                      "access": "rw"}],
        "groups": [{"name": "g", "upload_interval": 10}],
        "clouds": [mqtt_cloud(broker_port)],
        "subscribe": [{"name": "setpoints", "cloud": "default", "topic": "plant/set", "qos": 1,
                       "function": "on_message", "script": "scripts/on_setpoint.py"}],
    }


@pytest_asyncio.fixture
async def line(tmp_path: Path, broker: MosquittoBroker) -> AsyncIterator[tuple[Path, ModbusSimServer]]:
    """The configuration's path and its simulated PLC, running."""
    modbus_port = free_port()
    path = write_config(tmp_path, _config(tmp_path, broker.port, modbus_port))
    loaded = load_config(path)
    server = ModbusSimServer([measure_point(m, loaded.model.controllers[0]) for m in loaded.model.measures],
                             "127.0.0.1", modbus_port, moving=lambda _p: False)
    await server.start()
    try:
        yield path, server
    finally:
        await server.stop()


async def test_bad_messages_fail_only_themselves_and_booleans_are_no_numbers(
        line: tuple[Path, ModbusSimServer], broker: MosquittoBroker, subscribe: Any) -> None:
    path, server = line
    acks = subscribe("awsiot/ack")

    async def send(payload: str) -> None:
        await asyncio.to_thread(mqtt_publish.single, "plant/set", payload, qos=1, hostname="127.0.0.1",
                                port=broker.port)

    async with running_gateway(path) as gateway:
        await asyncio.wait_for(gateway.connectors["default"].subscribed.wait(), 15)
        for _ in range(FAULT_AFTER + 2):
            await send(DEEP)
        await until(lambda: gateway.runner.input_errors["subscribe:setpoints"] >= FAULT_AFTER + 2,
                    "the deep messages to fail the script", 5)
        await send('{"Speed": true, "Run": 1}')
        refused = json.loads((await asyncio.to_thread(acks.get, 10)).payload)
        await send('{"Speed": "43", "Run": true}')
        written = json.loads((await asyncio.to_thread(acks.get, 10)).payload)
        paused = dict(gateway.runner.faulted)
        bad = gateway.runner.input_errors["subscribe:setpoints"]
    assert paused == {} and bad == FAULT_AFTER + 2  # the rule stayed on; each bad message was counted
    assert [(r["var_name"], r["result"]) for r in refused["result"]] == [("Speed", "Failed"), ("Run", "OK")]
    assert "true is not a number" in refused["result"][0]["error"]
    assert [(r["var_name"], r["result"]) for r in written["result"]] == [("Speed", "OK"), ("Run", "OK")]
    assert server.get_value("Speed") == 43 and server.get_value("Run") is True


async def test_a_message_larger_than_any_setpoint_needs_never_reaches_the_script(
        line: tuple[Path, ModbusSimServer], broker: MosquittoBroker, subscribe: Any) -> None:
    path, server = line
    acks = subscribe("awsiot/ack")
    huge = '{"Speed": 7, "pad": "' + "x" * (MAX_MESSAGE_BYTES + 1) + '"}'
    async with running_gateway(path) as gateway:
        await asyncio.wait_for(gateway.connectors["default"].subscribed.wait(), 15)
        for payload in (huge, huge, '{"Speed": 8}'):
            await asyncio.to_thread(mqtt_publish.single, "plant/set", payload, qos=1, hostname="127.0.0.1",
                                    port=broker.port)
        written = json.loads((await asyncio.to_thread(acks.get, 10)).payload)
        calls = gateway.runner.calls["subscribe:setpoints"]
    assert calls == 1 and written["result"][0]["result"] == "OK" and server.get_value("Speed") == 8

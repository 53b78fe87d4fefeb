"""A cloud message reaches the subscribe script, the PLC register changes, the result is published."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import paho.mqtt.publish as mqtt_publish

from gateway.config import load_config, measure_point
from gateway.demo.broker import MosquittoBroker
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import mqtt_cloud, running_gateway, write_config


async def test_setpoint_written_and_acknowledged(tmp_path: Path, broker: MosquittoBroker, subscribe: Any) -> None:
    modbus_port = free_port()
    config = {
        "gateway": {"name": "sp", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}",
                         "sample_period": 0.2, "timeout": 1.0}],
        "measures": [
            {"name": "Setpoint", "controller": "PLC1", "group": "g", "address": "40010", "type": "FLOAT",
             "access": "rw", "transform": {"kind": "gain_offset", "gain": 0.5, "offset": 0}},
            {"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT"},
        ],
        "groups": [{"name": "g", "upload_interval": 10}],
        "clouds": [mqtt_cloud(broker.port)],
        "subscribe": [{"name": "setpoints", "cloud": "default", "topic": "awsiot/send", "qos": 1,
                       "function": "on_message", "script": "scripts/on_setpoint.py"}],
    }
    path = write_config(tmp_path, config)
    loaded = load_config(path)
    points = [measure_point(m, loaded.model.controllers[0]) for m in loaded.model.measures]
    server = ModbusSimServer(points, "127.0.0.1", modbus_port, moving=lambda _p: False)
    await server.start()
    acks = subscribe("awsiot/ack")
    try:
        async with running_gateway(path) as gateway:
            await asyncio.wait_for(gateway.connectors["default"].subscribed.wait(), 15)
            await asyncio.to_thread(mqtt_publish.single, "awsiot/send", '{"Setpoint": 42.5, "Temp": 1}',
                                    qos=1, hostname="127.0.0.1", port=broker.port)
            ack = json.loads((await asyncio.to_thread(acks.get, 10)).payload)
    finally:
        await server.stop()
    assert server.get_value("Setpoint") == 85.0  # 42.5 through the inverse of gain 0.5
    assert ack["request_topic"] == "awsiot/send"
    assert [(r["var_name"], r["result"]) for r in ack["result"]] == [("Setpoint", "OK"), ("Temp", "Failed")]
    assert "read-only" in ack["result"][1]["error"]

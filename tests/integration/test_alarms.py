"""Alarms end to end: a PLC value crosses a threshold, the alarm-source rule's script publishes the
alarm dict through the outbox to Mosquitto, and the alarm is still active after a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gateway.demo.broker import MosquittoBroker
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import Subscriber, free_port
from tests.integration.gateway_harness import mqtt_cloud, running_gateway, write_config

ALARM_SCRIPT = """
def on_alarm(data, wizard_api):
    for name, alarm in data['values'].items():
        wizard_api.awsiot_publish('plant/alarms', {'alarm': name, 'state': alarm['current'],
                                                   'value': alarm['value'], 'label': data['group_name']}, 1)
"""


async def _next(subscriber: Subscriber) -> dict[str, Any]:
    return dict(json.loads((await asyncio.to_thread(subscriber.get, 10)).payload))


async def test_an_alarm_is_published_when_raised_and_cleared_and_survives_a_restart(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    port = free_port()
    plc = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT)], "127.0.0.1", port, moving=lambda _p: False)
    plc.set_value("Temp", 20.0)
    await plc.start()
    path = write_config(tmp_path, {
        "gateway": {"data_dir": "./state"},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{port}",
                         "sample_period": 0.1}],
        "measures": [{"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 60}],
        "alarms": [{"name": "High", "measure": "Temp", "level": 4, "content": "too hot", "label": "boiler",
                    "cond1": {"op": "gt", "value": 80}, "hysteresis": 2}],
        "clouds": [mqtt_cloud(broker.port)],
        "publish": [{"name": "alarms", "cloud": "default", "topic": "plant/alarms", "source": "alarm",
                     "labels": ["boiler"], "function": "on_alarm", "script": "scripts/alarms.py"}],
    }, {"alarms.py": ALARM_SCRIPT})
    subscriber = subscribe("plant/alarms")
    try:
        async with running_gateway(path) as gateway:
            plc.set_value("Temp", 90.0)
            assert await _next(subscriber) == {"alarm": "High", "state": "on", "value": 90.0, "label": "boiler"}
            plc.set_value("Temp", 79.0)  # inside the hysteresis: still raised
            await asyncio.sleep(0.5)
            assert gateway.alarms is not None and gateway.alarms.active == ["High"]
        async with running_gateway(path) as gateway:
            await asyncio.sleep(0.5)
            assert gateway.alarms is not None and gateway.alarms.active == ["High"]  # restored, not raised again
            assert subscriber.drain() == []
            plc.set_value("Temp", 50.0)
            assert await _next(subscriber) == {"alarm": "High", "state": "off", "value": 50.0, "label": "boiler"}
            assert gateway.alarm_log is not None
            history = await gateway.alarm_log.history()
            assert [e["current"] for e in history] == ["off", "on"]
    finally:
        await plc.stop()

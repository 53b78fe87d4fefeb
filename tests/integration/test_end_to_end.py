"""PLC simulators -> gateway -> example script -> outbox -> Mosquitto: the payload is exactly right."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from gateway.config import load_config, measure_point
from gateway.demo.broker import MosquittoBroker
from gateway_plugins.modbus.simserver import ModbusSimServer
from gateway_plugins.s7.simserver import S7SimServer
from tests.conftest import Subscriber, free_port
from tests.integration.gateway_harness import mqtt_cloud, running_gateway, script_rule, simulated_gateway, write_config
from tests.waiting import until

PLC1_VALUES = {"Temp": 21.5, "Pressure": 345, "Flow": 123456, "PumpOn": True}
S7_VALUES = {"Running": True, "Speed": 1450.25, "Counter": -42, "Level": 812}


def _config(modbus_port: int, s7_port: int, broker_port: int, web_port: int, data_dir: Path) -> dict[str, Any]:
    def measure(name: str, controller: str, address: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "controller": controller, "group": "default", "address": address, "type": kind, **extra}

    return {
        "gateway": {"name": "e2e", "data_dir": str(data_dir),
                    "web": {"host": "127.0.0.1", "port": web_port, "tls": False}},
        "controllers": [
            {"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}", "sample_period": 0.2,
             "timeout": 1.0, "args": {"unit_id": 1, "byte_order": "cdab"}},
            {"name": "S7-1200", "protocol": "s7", "endpoint": f"127.0.0.1:{s7_port}", "sample_period": 0.2,
             "timeout": 1.0, "args": {"rack": 0, "slot": 1}},
        ],
        "measures": [
            measure("Temp", "PLC1", "40001", "FLOAT"),
            measure("Pressure", "PLC1", "40003", "INT", transform={"kind": "gain_offset", "gain": 0.1, "offset": 0},
                    decimal=1),
            measure("Flow", "PLC1", "30001", "DWORD"),
            measure("PumpOn", "PLC1", "00001", "BIT"),
            measure("Running", "S7-1200", "DB3.0.1", "BIT"),
            measure("Speed", "S7-1200", "DB3.2", "FLOAT"),
            measure("Counter", "S7-1200", "DB3.6", "DINT"),
            measure("Level", "S7-1200", "DB6.DBW18", "INT"),
        ],
        "groups": [{"name": "default", "upload_interval": 0.5}],
        "clouds": [mqtt_cloud(broker_port)],
        "publish": [{"name": "upload", "cloud": "default", "topic": "awsiot/test", "qos": 1, "groups": ["default"],
                     "function": "vars_upload_test", "script": "scripts/vars_upload_test.py"}],
    }


async def _next_payload(subscriber: Subscriber, timeout: float = 10.0, topic: str = "awsiot/test") -> Any:
    message = await asyncio.to_thread(subscriber.get, timeout)
    assert message.topic == topic
    return json.loads(message.payload)


async def test_payload_is_what_the_example_script_makes_of_the_plc_values(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    modbus_port, s7_port, web_port = free_port(), free_port(), free_port()
    path = write_config(tmp_path, _config(modbus_port, s7_port, broker.port, web_port, tmp_path / "state"))
    config = load_config(path)
    controllers = {c.name: c for c in config.model.controllers}
    points = {name: [measure_point(m, controllers[name]) for m in config.model.measures if m.controller == name]
              for name in controllers}
    modbus = ModbusSimServer(points["PLC1"], "127.0.0.1", modbus_port, moving=lambda _p: False)
    s7 = S7SimServer(points["S7-1200"], "127.0.0.1", s7_port, moving=lambda _p: False)
    for name, value in PLC1_VALUES.items():
        modbus.set_value(name, value)
    for name, value in S7_VALUES.items():
        s7.set_value(name, value)
    await modbus.start()
    await s7.start()
    subscriber = subscribe("awsiot/#")
    try:
        async with running_gateway(path, web=True):
            payload = await _next_payload(subscriber)
            timestamp = payload[0]["timestamp"]
            assert isinstance(timestamp, float)
            assert payload == [
                {"Device": "PLC1", "timestamp": timestamp,
                 "Data": {"Temp": 21.5, "Pressure": 34.5, "Flow": 123456, "PumpOn": True}},
                {"Device": "S7-1200", "timestamp": timestamp,
                 "Data": {"Running": True, "Speed": 1450.25, "Counter": -42, "Level": 812}},
            ]
            modbus.set_value("Temp", -3.25)
            s7.set_value("Counter", 7)
            for _ in range(10):  # the new values show up within a few uploads
                payload = await _next_payload(subscriber)
                if payload[0]["Data"]["Temp"] == -3.25 and payload[1]["Data"]["Counter"] == 7:
                    break
            else:
                raise AssertionError(f"new PLC values never published; last payload {payload}")
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{web_port}/api/v1/health") as r:
                assert r.status == 200 and (await r.json())["status"] == "ready"
    finally:
        await modbus.stop()
        await s7.stop()


async def test_a_dead_plc_does_not_stop_the_others(tmp_path: Path, broker: MosquittoBroker, subscribe: Any) -> None:
    """The S7 endpoint has no server: its values come with status 0, the Modbus values keep flowing."""
    modbus_port, dead_port = free_port(), free_port()
    config = _config(modbus_port, dead_port, broker.port, free_port(), tmp_path / "state")
    script = (
        "def main(data, api):\n"
        "    out = {}\n"
        "    for device, values in data['values'].items():\n"
        "        for name, v in values.items():\n"
        "            out[device + '/' + name] = [v['raw_data'], v['status']]\n"
        "    api.awsiot_publish('awsiot/test', out, 1)\n"
    )
    config["publish"][0].update(function="main", script="scripts/status.py")
    path = write_config(tmp_path, config, {"status.py": script})
    points = [measure_point(m, c) for c in load_config(path).model.controllers if c.name == "PLC1"
              for m in load_config(path).model.measures if m.controller == "PLC1"]
    modbus = ModbusSimServer(points, "127.0.0.1", modbus_port, moving=lambda _p: False)
    modbus.set_value("Temp", 21.5)
    await modbus.start()
    subscriber = subscribe("awsiot/#")
    try:
        async with running_gateway(path):
            seen = [await _next_payload(subscriber) for _ in range(3)]
    finally:
        await modbus.stop()
    for payload in seen:
        assert payload["PLC1/Temp"] == [21.5, 1]
        assert payload["S7-1200/Speed"] == [None, 0]


async def test_scripts_in_the_running_gateway_see_its_global_parameters(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    config = simulated_gateway("params", broker.port, [script_rule("p", "params/out", "params.py")])
    config["gateway"]["labels"] = {"site": "plant-3"}
    script = ("def main(data, api):\n    p = api.get_global_parameter()\n"
              "    return [p.get('site'), bool(p.get('gateway_sn'))]\n")
    path = write_config(tmp_path, config, {"params.py": script})
    subscriber = subscribe("params/#")
    async with running_gateway(path):
        payload = await _next_payload(subscriber, topic="params/out")
    assert payload == ["plant-3", True]


async def test_each_script_has_its_own_log_file_with_its_prints_and_failures(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    from gateway.runtime.script_logs import log_file_name

    config = simulated_gateway("logs", broker.port, [script_rule("talk", "logs/out", "talk.py"),
                                                     script_rule("fail/../../x", "logs/bad", "fail.py")])
    talk = ("import logging\ndef main(data, api):\n    print('hello from talk')\n"
            "    logging.warning('careful')\n    return 1\n")
    fail = "def main(data, api):\n    return 1 / 0\n"
    path = write_config(tmp_path, config, {"talk.py": talk, "fail.py": fail})
    subscriber = subscribe("logs/out")
    async with running_gateway(path) as gateway:
        await _next_payload(subscriber, topic="logs/out")
        await until(lambda: gateway.script_logs.tail("publish:fail/../../x"), "the failing script's log", 5)
        tail = gateway.script_logs.tail("publish:talk")
    logs = tmp_path / "state" / "logs" / "scripts"
    assert sorted(p.name for p in logs.iterdir()) == sorted([log_file_name("publish:talk"),
                                                             log_file_name("publish:fail/../../x")])
    talk_log = (logs / log_file_name("publish:talk")).read_text()
    fail_log = (logs / log_file_name("publish:fail/../../x")).read_text()
    assert "INFO    hello from talk" in talk_log and "WARNING careful" in talk_log and "ZeroDivision" not in talk_log
    assert "line 2: ZeroDivisionError: division by zero" in fail_log and "hello" not in fail_log
    assert {"level": "INFO", "message": "hello from talk"}.items() <= tail[0].items()


async def test_scripts_get_statistics_from_the_history_of_their_gateway(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    config = simulated_gateway("stats", broker.port, [script_rule("p", "stats/out", "stats.py")], history=True)
    script = "def main(data, api):\n    return api.get_statistics('L')['5min']\n"
    path = write_config(tmp_path, config, {"stats.py": script})
    subscriber = subscribe("stats/out")
    async with running_gateway(path):
        for _ in range(50):
            stats = await _next_payload(subscriber, topic="stats/out")
            if stats["count"] >= 3:
                break
    assert stats["count"] >= 3 and stats["min"] <= stats["avg"] <= stats["max"]

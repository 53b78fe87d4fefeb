"""The IoTgo connector against an IoTgo-protocol server written in the tests: updates through the
outbox, factory registration, pushes that write the PLC, errors, timeouts, reconnects, HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config.load import parse_config
from gateway.core.errors import ConfigError
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_gateway, write_config
from tests.integration.iotgo_server import IotgoServer
from tests.waiting import until

DEVICE, FACTORY_KEY, OWNER_KEY = "10000abcde", "11111111-2222-3333-4444-555555555555", \
    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SCRIPT = "def main(data, api):\n    return {'fromScript': data['values']['PLC1']['Temp']['raw_data'] is not None}\n"


@contextlib.asynccontextmanager
async def _line(tmp_path: Path, *, rule: bool = False, **cloud: Any) -> AsyncIterator[tuple[IotgoServer,
                                                                                             ModbusSimServer, Any]]:
    server = IotgoServer()
    device = server.add(DEVICE, FACTORY_KEY, OWNER_KEY)
    await server.start()
    plc_port = free_port()
    plc = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT), Point("Setpoint", "40011", DataType.FLOAT)],
                          "127.0.0.1", plc_port, moving=lambda p: p.name == "Temp")
    await plc.start()
    config = {
        "gateway": {"data_dir": "./state"},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{plc_port}",
                         "sample_period": 0.1, "timeout": 0.5}],
        "measures": [{"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT"},
                     {"name": "Setpoint", "controller": "PLC1", "group": "g", "address": "40011", "type": "FLOAT",
                      "access": "rw"}],
        "groups": [{"name": "g", "upload_interval": 0.3}],
        "clouds": [{"name": "iot", "type": "iotgo", "host": "127.0.0.1", "port": server.port, "update_interval": 0.3,
                    "response_timeout": 1.0, "devices": [{"deviceid": DEVICE, "apikey": FACTORY_KEY, "factory": True,
                                                          "measures": ["Temp", "PLC1/Setpoint"]}], **cloud}],
    }
    scripts = {}
    if rule:
        config["publish"] = [{"name": "to-iotgo", "cloud": "iot", "topic": DEVICE, "groups": ["g"],
                              "function": "main", "script": "scripts/to_iotgo.py"}]
        scripts["to_iotgo.py"] = SCRIPT
    path = write_config(tmp_path, config, scripts)
    try:
        async with running_gateway(path) as gateway:
            yield server, plc, (gateway, device)
    finally:
        await plc.stop()
        await server.stop()


async def test_updates_arrive_with_the_owners_apikey_after_registration(tmp_path: Path) -> None:
    async with _line(tmp_path) as (_server, _plc, (gateway, device)):
        await until(lambda: len(device.updates) >= 2)
        assert device.registered == 1 and isinstance(device.params["Temp"], float) and "Setpoint" in device.params
        assert gateway.connectors["iot"].state.connected and gateway.connectors["iot"].state.delivered >= 2
        await until(lambda: gateway.outbox.depth == 0)


async def test_a_push_writes_the_plc_and_is_answered_only_when_the_write_succeeded(tmp_path: Path) -> None:
    async with _line(tmp_path) as (server, plc, (_gateway, device)):
        await until(lambda: device.registered)
        answer = await server.push(DEVICE, {"Setpoint": 42.5})
        assert answer["error"] == 0 and answer["sequence"] and answer["apikey"] == OWNER_KEY
        assert plc.get_value("Setpoint") == pytest.approx(42.5)
        assert (await server.push(DEVICE, {"Temp": 1.0}))["error"] == 400  # read-only
        assert (await server.push(DEVICE, {"Nope": 1.0}))["error"] == 400  # not one of the device's measures
        await plc.stop()  # the PLC is gone: the write fails, and so does the answer
        assert (await server.push(DEVICE, {"Setpoint": 7.0}))["error"] == 503
        await plc.start()


async def test_a_dropped_connection_reconnects_and_registers_again(tmp_path: Path) -> None:
    async with _line(tmp_path) as (server, _plc, (_gateway, device)):
        await until(lambda: device.registered == 1)
        await server.drop_connections()
        await until(lambda: device.registered == 2)
        before = len(device.updates)
        await until(lambda: len(device.updates) > before)


async def test_unanswered_updates_stay_in_the_outbox_and_refused_ones_are_dropped(tmp_path: Path) -> None:
    async with _line(tmp_path) as (server, _plc, (gateway, device)):
        await until(lambda: device.updates)
        server.answer_updates = False  # 504 on the client's side: kept, resent after reconnecting
        await until(lambda: gateway.outbox.depth >= 2)
        server.answer_updates = True
        await until(lambda: gateway.outbox.depth == 0, timeout=20)
        server.refuse_updates_with = 403
        connector = gateway.connectors["iot"]
        await until(lambda: connector.dropped >= 2)
        assert gateway.outbox.depth <= 1  # refused for good: dropped, not blocking the queue


async def test_updates_go_over_http_while_the_websocket_cannot_connect(tmp_path: Path) -> None:
    async with _line(tmp_path) as (server, _plc, (_gateway, device)):
        await until(lambda: device.registered)
        server.accept_websocket = False
        await server.drop_connections()
        await until(lambda: len(server.http_requests) >= 2, timeout=20)
        assert all(r["action"] == "update" and r["apikey"] == OWNER_KEY for r in server.http_requests)
        assert device.params["Temp"] == server.http_requests[-1]["params"]["Temp"]


async def test_a_publish_script_can_target_a_device(tmp_path: Path) -> None:
    async with _line(tmp_path, rule=True) as (_server, _plc, (_gateway, device)):
        await until(lambda: device.params.get("fromScript") is True)


def test_configuration_mistakes_are_named(tmp_path: Path) -> None:
    text = ("controllers: [{name: S, protocol: simulator, endpoint: local}]\n"
            "measures: [{name: T, controller: S, group: g, address: sine, type: FLOAT}]\n"
            "groups: [{name: g}]\n"
            "clouds: [{name: iot, type: iotgo, host: 127.0.0.1, devices: [\n"
            "  {deviceid: 10000abcde, apikey: 123e4567-e89b-12d3-a456-426614174000, measures: [T, X]},\n"
            "  {deviceid: 10000abcde, apikey: 123e4567-e89b-12d3-a456-426614174000, group: g}]}]\n"
            "publish: [{name: p, cloud: iot, topic: not-a-device, groups: [g]}]\n"
            "subscribe: [{name: s, cloud: iot, topic: cmd, function: main, script: x.py}]\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.yaml")
    shown = [str(p) for p in caught.value.problems]
    assert any("devices[0].measures[1]: unknown measure 'X'" in p for p in shown)
    assert any("devices[1].deviceid: device 10000abcde is listed twice" in p for p in shown)
    assert any("publish[0].topic: for iotgo cloud 'iot' the topic is the deviceid" in p for p in shown)
    assert any("subscribe[0].cloud: cloud 'iot' is iotgo" in p for p in shown)


async def test_a_server_message_nested_too_deep_is_ignored_and_the_connection_stays(tmp_path: Path) -> None:
    async with _line(tmp_path) as (server, plc, (gateway, device)):
        await until(lambda: device.registered == 1)
        assert device.socket is not None
        await device.socket.send_str("[" * 100_000 + "]" * 100_000)
        answer = await server.push(DEVICE, {"Setpoint": 12.5})  # the same connection still serves pushes
        assert answer["error"] == 0 and plc.get_value("Setpoint") == pytest.approx(12.5)
        assert device.registered == 1 and gateway.connectors["iot"].state.connected

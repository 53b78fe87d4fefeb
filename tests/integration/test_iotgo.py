"""The IoTgo connector against an IoTgo server written from the real server's source
(tests/integration/iotgo_server.py): updates through the outbox, factory registration with nothing
lost while it fails, pushes that write the PLC, DIY devices that ask for the app's changes, the
server's id and type checks, errors, timeouts, reconnects, HTTP."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.config.load import parse_config
from gateway.core.errors import ConfigError
from gateway.runtime.app import Gateway
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_gateway, write_config
from tests.integration.iotgo_server import IotgoServer
from tests.waiting import until

FACTORY_ID, DIY_ID = "1080000001", "1000000001"
FACTORY_KEY, OWNER_KEY = "11111111-2222-3333-4444-555555555555", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SCRIPT = "def main(data, api):\n    return {'fromScript': data['values']['PLC1']['Temp']['raw_data'] is not None}\n"
MEASURES = [{"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT"},
            {"name": "Setpoint", "controller": "PLC1", "group": "g", "address": "40011", "type": "FLOAT",
             "access": "rw"},
            {"name": "switch", "controller": "PLC1", "group": "g", "address": "00001", "type": "BIT", "access": "rw",
             "transform": {"kind": "value_map", "map": {0: "off", 1: "on"}}},
            {"name": "light", "controller": "PLC1", "group": "g", "address": "00002", "type": "BIT", "access": "rw"}]


@dataclass
class Line:
    """A running gateway, its PLC and the IoTgo server it talks to."""

    server: IotgoServer
    plc: ModbusSimServer
    gateway: Gateway
    config_path: Path

    @property
    def connector(self) -> Any:
        return self.gateway.connectors["iot"]


def _factory_device(**more: Any) -> dict[str, Any]:
    return {"deviceid": FACTORY_ID, "apikey": FACTORY_KEY, "factory": True, "measures": ["Temp", "PLC1/Setpoint"],
            **more}


@contextlib.asynccontextmanager
async def _line(tmp_path: Path, *, devices: list[dict[str, Any]] | None = None,
                server_setup: Callable[[IotgoServer], None] | None = None, rule: bool = False,
                **cloud: Any) -> AsyncIterator[Line]:
    """A gateway with one iotgo cloud (by default one factory device bound to its owner)."""
    server = IotgoServer()
    if server_setup is None:
        server.add(FACTORY_ID, OWNER_KEY, FACTORY_KEY)
    else:
        server_setup(server)
    await server.start()
    plc_port = free_port()
    plc = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT), Point("Setpoint", "40011", DataType.FLOAT),
                           Point("switch", "00001", DataType.BIT), Point("light", "00002", DataType.BIT)],
                          "127.0.0.1", plc_port, moving=lambda p: p.name == "Temp")
    await plc.start()
    config = {
        "gateway": {"data_dir": "./state"},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{plc_port}",
                         "sample_period": 0.1, "timeout": 0.5}],
        "measures": MEASURES,
        "groups": [{"name": "g", "upload_interval": 0.3}],
        "clouds": [{"name": "iot", "type": "iotgo", "host": "127.0.0.1", "port": server.port, "update_interval": 0.3,
                    "query_interval": 0.3, "response_timeout": 1.0, "devices": devices or [_factory_device()],
                    **cloud}],
    }
    scripts = {}
    if rule:
        target = (devices or [_factory_device()])[0]["deviceid"]
        config["publish"] = [{"name": "to-iotgo", "cloud": "iot", "topic": target, "groups": ["g"], "function": "main",
                              "script": "scripts/to_iotgo.py"}]
        scripts["to_iotgo.py"] = SCRIPT
    path = write_config(tmp_path, config, scripts)
    try:
        async with running_gateway(path) as gateway:
            yield Line(server, plc, gateway, path)
    finally:
        await plc.stop()
        await server.stop()


async def _waiting(line: Line) -> list[dict[str, Any]]:
    """The params of every update committed to the outbox and not delivered yet, oldest first."""
    return [json.loads(row.payload) for row in await line.gateway.outbox.fetch("iot", 0, 100_000)]


def _arrived_in_order(waiting: list[dict[str, Any]], updates: list[dict[str, Any]]) -> bool:
    """Whether ``waiting`` arrived whole and in order among ``updates``."""
    start = updates.index(waiting[0]) if waiting and waiting[0] in updates else -1
    return start >= 0 and updates[start:start + len(waiting)] == waiting


def _sent_with_factory_key(server: IotgoServer) -> list[dict[str, Any]]:
    """The updates sent with the factory key (the server finds no device by it: always 403)."""
    return [r for r in server.refused if r["action"] == "update" and r["apikey"] == FACTORY_KEY]


async def test_updates_arrive_with_the_owners_apikey_after_registration(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        device = line.server.devices[FACTORY_ID]
        await until(lambda: len(device.updates) >= 2)
        assert line.server.registered[FACTORY_ID] == 1 and isinstance(device.params["Temp"], float)
        assert "Setpoint" in device.params and not line.server.refused
        assert line.connector.state.connected and line.connector.state.delivered >= 2
        await until(lambda: line.gateway.outbox.depth == 0)


async def test_nothing_committed_is_lost_while_register_fails_and_nothing_goes_with_the_factory_key(
        tmp_path: Path) -> None:
    def made_not_bound(server: IotgoServer) -> None:
        server.add_factory(FACTORY_ID, FACTORY_KEY)  # register answers 404 until a user binds it

    async with _line(tmp_path, server_setup=made_not_bound) as line:
        server = line.server
        await until(lambda: len([r for r in server.refused if r["action"] == "register"]) >= 2)
        await until(lambda: line.gateway.outbox.depth >= 5, "readings to wait in the outbox")
        assert all(r["answered"] == 404 for r in server.refused) and not _sent_with_factory_key(server)
        shown = line.gateway.status().clouds[0].waiting  # what the overview page shows under the cloud
        assert shown == (f"{FACTORY_ID}: the device is not bound to a user yet (register answered 404)",)
        waiting = await _waiting(line)
        device = server.add(FACTORY_ID, OWNER_KEY)  # bound now: the next register answers the owner's key
        await until(lambda: line.gateway.outbox.depth == 0, "the waiting readings to be delivered", timeout=20)
        assert device.updates[:len(waiting)] == waiting and line.connector.dropped == 0  # all, in order
        assert not _sent_with_factory_key(server) and line.connector.state.failures == 0  # the socket stayed
        assert line.gateway.status().clouds[0].waiting == ()


async def test_over_http_a_factory_device_registers_first_and_its_readings_wait_till_then(tmp_path: Path) -> None:
    def made_not_bound(server: IotgoServer) -> None:
        server.add_factory(FACTORY_ID, FACTORY_KEY)
        server.accept_websocket = False

    async with _line(tmp_path, server_setup=made_not_bound) as line:
        server = line.server
        await until(lambda: [r for r in server.http_requests if r["action"] == "register"], timeout=20)
        await until(lambda: line.gateway.outbox.depth >= 3)
        assert all(r["action"] == "register" for r in server.http_requests)  # no update with the factory key
        waiting = await _waiting(line)
        device = server.add(FACTORY_ID, OWNER_KEY)
        await until(lambda: line.gateway.outbox.depth == 0, "the waiting readings to go over HTTP", timeout=30)
        assert device.updates[:len(waiting)] == waiting and line.connector.dropped == 0
        updates = [r for r in server.http_requests if r["action"] == "update"]
        assert updates and all(r["apikey"] == OWNER_KEY for r in updates)


async def test_a_server_whose_register_gives_no_owner_key_gets_nothing_with_the_factory_key(tmp_path: Path) -> None:
    def older_server(server: IotgoServer) -> None:
        server.add(FACTORY_ID, OWNER_KEY, FACTORY_KEY)
        server.register_gives_owner_key = False

    async with _line(tmp_path, server_setup=older_server) as line:
        await until(lambda: line.server.registered.get(FACTORY_ID, 0) >= 2, "registering to be tried again")
        await until(lambda: line.gateway.outbox.depth >= 3)
        assert not _sent_with_factory_key(line.server) and not line.server.devices[FACTORY_ID].updates
        assert "register answered without the owner's apikey" in line.connector.keys.waiting[FACTORY_ID]


async def test_a_403_to_an_update_keeps_the_readings_and_registers_again(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        server, device = line.server, line.server.devices[FACTORY_ID]
        await until(lambda: device.updates)
        new_owner = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"
        device.owner_apikey = new_owner  # the device was given to another user: the old key gets 403
        await until(lambda: [r for r in server.refused if r["action"] == "update"], "an update refused with 403")
        refused = [r["params"] for r in server.refused if r["action"] == "update"]
        waiting = await _waiting(line)
        assert refused[0] == waiting[0]  # the refused update waits, first in line
        await until(lambda: server.registered[FACTORY_ID] >= 2, "a new registration")
        await until(lambda: line.gateway.outbox.depth == 0, timeout=20)
        # every reading committed arrived: the refused one came again with the new owner's key
        assert _arrived_in_order(waiting, device.updates) and line.connector.dropped == 0


async def test_a_failed_register_of_one_device_keeps_the_others_on_the_socket(tmp_path: Path) -> None:
    other_id, other_key = "1080000002", "22222222-3333-4444-5555-666666666666"

    def one_bound(server: IotgoServer) -> None:
        server.add(FACTORY_ID, OWNER_KEY, FACTORY_KEY)
        server.add_factory(other_id, other_key)  # not bound: 404

    devices = [_factory_device(), {"deviceid": other_id, "apikey": other_key, "factory": True, "measures": ["Temp"]}]
    async with _line(tmp_path, devices=devices, server_setup=one_bound) as line:
        server = line.server
        await until(lambda: len([r for r in server.refused if r["deviceid"] == other_id]) >= 2)
        answer = await server.app_update(FACTORY_ID, {"Setpoint": 21.5})  # pushed over the same socket
        assert answer["error"] == 0 and line.plc.get_value("Setpoint") == pytest.approx(21.5)
        await until(lambda: server.devices[FACTORY_ID].updates, "the bound device's updates")
        assert server.registered[FACTORY_ID] == 1 and line.connector.state.connected
        assert line.connector.state.failures == 0 and other_id in line.connector.keys.waiting


async def test_a_push_writes_the_plc_and_is_answered_only_when_the_write_succeeded(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        server, plc = line.server, line.plc
        await until(lambda: server.registered.get(FACTORY_ID))
        answer = await server.app_update(FACTORY_ID, {"Setpoint": 42.5})
        assert answer["error"] == 0 and answer["apikey"] == OWNER_KEY
        assert plc.get_value("Setpoint") == pytest.approx(42.5)
        assert server.devices[FACTORY_ID].params["Setpoint"] == 42.5  # stored once the device said 0
        assert (await server.app_update(FACTORY_ID, {"Temp": 1.0}))["error"] == 400  # read-only
        assert (await server.app_update(FACTORY_ID, {"Nope": 1.0}))["error"] == 400  # not one of the device's measures
        await plc.stop()  # the PLC is gone: the write fails, and so does the answer
        assert (await server.app_update(FACTORY_ID, {"Setpoint": 7.0}))["error"] == 503
        await plc.start()


@pytest.mark.parametrize("replace_params", [False, True], ids=["merging server", "replacing server"])
async def test_a_diy_device_asks_for_the_apps_changes_writes_them_and_reports_back(tmp_path: Path,
                                                                                 replace_params: bool) -> None:
    devices = [{"deviceid": DIY_ID, "apikey": OWNER_KEY, "measures": ["Temp", "Setpoint"]}]

    def diy(server: IotgoServer) -> None:
        server.add(DIY_ID, OWNER_KEY)
        server.replace_params = replace_params  # an app's change replaces all params: Temp is gone until reported

    async with _line(tmp_path, devices=devices, server_setup=diy) as line:
        server, device = line.server, line.server.devices[DIY_ID]
        await until(lambda: device.updates)
        answer = await server.app_update(DIY_ID, {"Setpoint": 33.5})  # stored only: the server never pushes to DIY
        assert answer["error"] == 0
        await until(lambda: line.plc.get_value("Setpoint") == pytest.approx(33.5), "the app's change on the PLC")
        await until(lambda: any(u.get("Setpoint") == 33.5 for u in device.updates), "the change reported back")
        assert device.queries >= 1 and all(r["action"] != "update" for r in server.refused)
        line.plc.set_value("Setpoint", 10.0)  # changed at the machine: reported, and not taken for an app's change
        await until(lambda: device.params.get("Setpoint") == 10.0)
        assert (await server.app_update(DIY_ID, {"Setpoint": "not a number"}))["error"] == 0
        await until(lambda: device.params.get("Setpoint") == 10.0, "the PLC's value reported back after a refusal")
        assert line.plc.get_value("Setpoint") == pytest.approx(10.0)
        await server.app_update(DIY_ID, {"Temp": -5.0})  # read-only: never written
        await until(lambda: device.params.get("Temp") != -5.0)
        assert line.plc.get_value("Temp") != -5.0


async def test_a_diy_device_takes_the_apps_changes_over_http_too(tmp_path: Path) -> None:
    devices = [{"deviceid": DIY_ID, "apikey": OWNER_KEY, "measures": ["Setpoint"]}]

    def diy_over_http(server: IotgoServer) -> None:
        server.add(DIY_ID, OWNER_KEY)
        server.accept_websocket = False

    async with _line(tmp_path, devices=devices, server_setup=diy_over_http) as line:
        await until(lambda: line.server.devices[DIY_ID].updates, timeout=20)
        assert (await line.server.app_update(DIY_ID, {"Setpoint": 44.0}))["error"] == 0
        await until(lambda: line.plc.get_value("Setpoint") == pytest.approx(44.0), timeout=30)
        assert {r["action"] for r in line.server.http_requests} == {"query", "update"}


async def test_a_diy_change_made_while_the_gateway_was_down_is_written_when_it_is_back(tmp_path: Path) -> None:
    devices = [{"deviceid": DIY_ID, "apikey": OWNER_KEY, "measures": ["Setpoint"]}]

    def diy(server: IotgoServer) -> None:
        server.add(DIY_ID, OWNER_KEY)

    async with _line(tmp_path, devices=devices, server_setup=diy) as line:
        await until(lambda: line.server.devices[DIY_ID].updates)
    await line.server.start()  # the gateway is stopped; the server and the PLC are back
    await line.plc.start()
    try:
        assert (await line.server.app_update(DIY_ID, {"Setpoint": 55.0}))["error"] == 0
        async with running_gateway(line.config_path) as gateway:
            await until(lambda: line.plc.get_value("Setpoint") == pytest.approx(55.0), timeout=15)
            await until(lambda: any(u.get("Setpoint") == 55.0 for u in line.server.devices[DIY_ID].updates))
            assert gateway.connectors["iot"].dropped == 0
    finally:
        await line.plc.stop()
        await line.server.stop()


async def test_a_switch_device_sends_on_and_off_and_takes_them_from_the_app(tmp_path: Path) -> None:
    switch_id = "0180000001"
    devices = [{"deviceid": switch_id, "apikey": FACTORY_KEY, "factory": True, "measures": ["switch", "Temp"]}]

    def switch(server: IotgoServer) -> None:
        server.add(switch_id, OWNER_KEY, FACTORY_KEY)

    async with _line(tmp_path, devices=devices, server_setup=switch) as line:
        device = line.server.devices[switch_id]
        await until(lambda: device.updates)
        assert device.params["switch"] in ("on", "off") and not line.server.refused
        assert (await line.server.app_update(switch_id, {"switch": "on"}))["error"] == 0
        assert line.plc.get_value("switch") in (1, True)
        assert (await line.server.app_update(switch_id, {"switch": True}))["error"] == 400  # the server's own check
        await until(lambda: device.params.get("switch") == "on")


async def test_a_diy_light_whose_measure_is_a_bit_is_sent_and_written_as_on_and_off(tmp_path: Path) -> None:
    light_id = "0200000001"  # type 02 (light), made in the app: no pushes, asked with query
    devices = [{"deviceid": light_id, "apikey": OWNER_KEY, "measures": ["light"]}]

    def light(server: IotgoServer) -> None:
        server.add(light_id, OWNER_KEY)

    async with _line(tmp_path, devices=devices, server_setup=light) as line:
        device = line.server.devices[light_id]
        await until(lambda: device.params.get("light") == "off")
        assert (await line.server.app_update(light_id, {"light": "on"}))["error"] == 0
        await until(lambda: line.plc.get_value("light") in (1, True), "the light switched on at the PLC")
        await until(lambda: any(u.get("light") == "on" for u in device.updates), "'on' reported back")
        assert not line.server.refused


async def test_a_dropped_connection_reconnects_and_registers_again(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        server, device = line.server, line.server.devices[FACTORY_ID]
        await until(lambda: server.registered.get(FACTORY_ID) == 1)
        await server.drop_connections()
        await until(lambda: server.registered[FACTORY_ID] == 2)
        before = len(device.updates)
        await until(lambda: len(device.updates) > before)


async def test_unanswered_updates_stay_and_only_what_the_server_refuses_as_it_is_is_dropped(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        server, device = line.server, line.server.devices[FACTORY_ID]
        await until(lambda: device.updates)
        server.answer_updates = False  # 504 on the client's side: kept, resent after reconnecting
        await until(lambda: line.gateway.outbox.depth >= 2)
        server.answer_updates = True
        await until(lambda: line.gateway.outbox.depth == 0, timeout=20)
        assert line.connector.dropped == 0


async def test_a_publish_rule_whose_params_the_device_type_refuses_is_dropped_not_retried(tmp_path: Path) -> None:
    switch_id = "0180000001"
    devices = [{"deviceid": switch_id, "apikey": FACTORY_KEY, "factory": True, "measures": ["switch"]}]

    def switch(server: IotgoServer) -> None:
        server.add(switch_id, OWNER_KEY, FACTORY_KEY)

    async with _line(tmp_path, devices=devices, server_setup=switch, rule=True) as line:
        await until(lambda: line.connector.dropped >= 2, "the rule's params without 'switch' to be dropped")
        assert line.server.devices[switch_id].updates  # the device's own updates still go
        assert all(r["answered"] == 400 and "fromScript" in r["params"] for r in line.server.refused)
        assert line.gateway.status().clouds[0].dropped >= 2  # counted where the overview and /metrics read it


async def test_updates_go_over_http_while_the_websocket_cannot_connect(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        server, device = line.server, line.server.devices[FACTORY_ID]
        await until(lambda: server.registered.get(FACTORY_ID))
        server.accept_websocket = False
        await server.drop_connections()
        await until(lambda: len(server.http_requests) >= 2, timeout=20)
        assert all(r["action"] == "update" and r["apikey"] == OWNER_KEY for r in server.http_requests)
        assert device.params["Temp"] == server.http_requests[-1]["params"]["Temp"]


async def test_an_http_fallback_the_server_refuses_for_its_host_name_says_so(tmp_path: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    def named_server(server: IotgoServer) -> None:
        server.add(FACTORY_ID, OWNER_KEY, FACTORY_KEY)
        server.host = "iotgo.example.com"  # the name it is configured with; the gateway connects by address
        server.accept_websocket = False

    async with _line(tmp_path, server_setup=named_server) as line:
        await until(lambda: "refuses HTTP requests for host '127.0.0.1'" in caplog.text, timeout=15)
        await until(lambda: line.gateway.outbox.depth >= 2)
        assert not line.server.http_requests and line.connector.dropped == 0  # refused before it read them; kept


async def test_a_publish_script_can_target_a_device(tmp_path: Path) -> None:
    async with _line(tmp_path, rule=True) as line:
        await until(lambda: line.server.devices[FACTORY_ID].params.get("fromScript") is True)


def test_configuration_mistakes_are_named(tmp_path: Path) -> None:
    key = "123e4567-e89b-12d3-a456-426614174000"
    text = ("controllers: [{name: S, protocol: simulator, endpoint: local}]\n"
            "measures: [{name: T, controller: S, group: g, address: sine, type: FLOAT},\n"
            "  {name: switch, controller: S, group: g, address: sine, type: FLOAT},\n"
            "  {name: humidity, controller: S, group: g, address: sine, type: STRING, length: 8}]\n"
            "groups: [{name: g}]\n"
            "clouds: [{name: iot, type: iotgo, host: 127.0.0.1, devices: [\n"
            f"  {{deviceid: 10000abcde, apikey: {key}, measures: [T, X]}},\n"
            f"  {{deviceid: 10000abcde, apikey: {key}, group: g}},\n"
            f"  {{deviceid: 10000abcdf, apikey: {key}, factory: true, measures: [T]}},\n"
            f"  {{deviceid: 0180000001, apikey: {key}, factory: true, measures: [switch]}},\n"
            f"  {{deviceid: 0280000001, apikey: {key}, measures: [T]}},\n"
            f"  {{deviceid: '0300000001', apikey: {key}, measures: [T, humidity]}}]}}]\n"
            "publish: [{name: p, cloud: iot, topic: not-a-device, groups: [g]}]\n"
            "subscribe: [{name: s, cloud: iot, topic: cmd, function: main, script: x.py}]\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.yaml")
    shown = [str(p) for p in caught.value.problems]
    assert any("devices[0].measures[1]: unknown measure 'X'" in p for p in shown)
    assert any("devices[1].deviceid: device 10000abcde is listed twice" in p for p in shown)
    assert any("devices[2].deviceid: 10000abcdf cannot be a factory device" in p and "1080000001" in p for p in shown)
    assert any("devices[3].measures: 'switch' of a type 01 device must read \"on\" or \"off\"" in p for p in shown)
    assert any("devices[4].measures: a device of type 02 (light) must carry a measure named 'light'" in p
               for p in shown)
    assert any("devices[5].measures: a device of type 03" in p and "'temperature'" in p for p in shown)
    assert any("devices[5].measures: 'humidity' of a type 03 device must be a number" in p for p in shown)
    assert any("publish[0].topic: for iotgo cloud 'iot' the topic is the deviceid" in p for p in shown)
    assert any("subscribe[0].cloud: cloud 'iot' is iotgo" in p for p in shown)


async def test_a_server_message_nested_too_deep_is_ignored_and_the_connection_stays(tmp_path: Path) -> None:
    async with _line(tmp_path) as line:
        server, device = line.server, line.server.devices[FACTORY_ID]
        await until(lambda: server.registered.get(FACTORY_ID) == 1 and device.socket is not None)
        assert device.socket is not None
        await device.socket.send_str("[" * 100_000 + "]" * 100_000)
        answer = await server.app_update(FACTORY_ID, {"Setpoint": 12.5})  # the same connection still serves pushes
        assert answer["error"] == 0 and line.plc.get_value("Setpoint") == pytest.approx(12.5)
        assert server.registered[FACTORY_ID] == 1 and line.connector.state.connected

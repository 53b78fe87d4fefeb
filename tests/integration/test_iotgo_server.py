"""The tests' IoTgo server answers as ITEAD's server's source says it does (protocol/index.js,
methods.js, types.js, interceptors.js): the connector's tests are only as good as it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.iotgo_server import IotgoServer

FACTORY_KEY, OWNER_KEY = "11111111-2222-3333-4444-555555555555", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def _ask(server: IotgoServer, **request: Any) -> int:
    answer = server.answer({"sequence": "7", **request})
    assert answer is not None and answer["sequence"] == "7"  # every answer echoes the sequence
    return int(answer["error"])


@pytest.mark.parametrize(("request_fields", "error"), [
    ({"action": "update", "deviceid": "1000000001", "apikey": "not-a-uuid", "params": {}}, 400),
    ({"action": "update", "deviceid": "10000000AB", "apikey": OWNER_KEY, "params": {}}, 400),  # upper case
    ({"action": "update", "deviceid": "100000001", "apikey": OWNER_KEY, "params": {}}, 400),  # 9 digits
    ({"action": "reboot", "deviceid": "1000000001", "apikey": OWNER_KEY}, 400),
    ({"action": "query", "deviceid": "1000000001", "apikey": OWNER_KEY, "params": {}}, 400),  # not a list
    ({"action": "update", "deviceid": "1000000001", "apikey": OWNER_KEY, "params": "x"}, 400),  # not an object
    ({"action": "update", "deviceid": "1000000001", "apikey": FACTORY_KEY, "params": {}}, 403),  # not its owner
    ({"action": "update", "deviceid": "1080000001", "apikey": FACTORY_KEY, "params": {}}, 403),  # a factory key
    ({"action": "register", "deviceid": "1080000001", "apikey": OWNER_KEY}, 403),  # only the factory key registers
    ({"action": "register", "deviceid": "1080000002", "apikey": FACTORY_KEY}, 404),  # made, not bound to a user
    ({"action": "update", "deviceid": "0100000001", "apikey": OWNER_KEY, "params": {"switch": True}}, 400),
    ({"action": "update", "deviceid": "0100000001", "apikey": OWNER_KEY, "params": {"power": "on"}}, 400),
    ({"action": "update", "deviceid": "0100000001", "apikey": OWNER_KEY, "params": {"switch": "off"}}, 0),
    ({"action": "update", "deviceid": "0300000001", "apikey": OWNER_KEY, "params": {"temperature": 20}}, 400),
    ({"action": "update", "deviceid": "0300000001", "apikey": OWNER_KEY,
      "params": {"temperature": "warm", "humidity": 40}}, 400),
    ({"action": "update", "deviceid": "0300000001", "apikey": OWNER_KEY,
      "params": {"temperature": "21.5", "humidity": 40}}, 0),
])
def test_requests_are_checked_as_the_server_checks_them(request_fields: dict[str, Any], error: int) -> None:
    server = IotgoServer()
    for deviceid in ("1000000001", "0100000001", "0300000001"):
        server.add(deviceid, OWNER_KEY)
    server.add("1080000001", OWNER_KEY, FACTORY_KEY)
    server.add_factory("1080000002", FACTORY_KEY)
    assert _ask(server, **request_fields) == error


def test_register_answers_the_owners_key_and_query_what_the_device_holds() -> None:
    server = IotgoServer()
    server.add("1080000001", OWNER_KEY, FACTORY_KEY)
    answer = server.answer({"action": "register", "deviceid": "1080000001", "apikey": FACTORY_KEY})
    assert answer == {"error": 0, "apikey": OWNER_KEY, "deviceid": "1080000001"}
    server.answer({"action": "update", "deviceid": "1080000001", "apikey": OWNER_KEY, "params": {"a": 1, "b": 2}})
    server.answer({"action": "update", "deviceid": "1080000001", "apikey": OWNER_KEY, "params": {"b": 3}})
    query = {"action": "query", "deviceid": "1080000001", "apikey": OWNER_KEY}
    assert server.answer({**query, "params": []})["params"] == {"a": 1, "b": 3}  # merged
    assert server.answer({**query, "params": ["b", "c"]})["params"] == {"b": 3}
    server.replace_params = True  # an older server replaces them
    server.answer({"action": "update", "deviceid": "1080000001", "apikey": OWNER_KEY, "params": {"b": 4}})
    assert server.answer({**query, "params": []})["params"] == {"b": 4}


async def test_an_apps_change_to_a_diy_device_is_stored_and_to_an_offline_factory_device_refused() -> None:
    server = IotgoServer()
    diy = server.add("1000000001", OWNER_KEY)
    server.add("1080000001", OWNER_KEY, FACTORY_KEY)
    assert (await server.app_update("1000000001", {"sp": 5}))["error"] == 0 and diy.params == {"sp": 5}
    assert (await server.app_update("1080000001", {"sp": 5}))["error"] == 503  # never pushed: not online
    assert (await server.app_update("0100000001", {"switch": "maybe"}))["error"] == 400  # its type's check first

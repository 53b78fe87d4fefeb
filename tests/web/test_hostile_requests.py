"""The web server's edges: an oversized or hostile body is a short 4xx with one log line, the live
view talks to the gateway's own pages only, and an IoTgo apikey is a secret like any other."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from gateway.web.server import MAX_REQUEST_BYTES
from tests.web.conftest import Client, WebGateway

DEEP_JSON = "[" * 100_000 + "]" * 100_000
APIKEY = "123e4567-e89b-12d3-a456-426614174000"


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_a_body_over_the_cap_is_413(web_gateway: WebGateway, caplog: pytest.LogCaptureFixture) -> None:
    client = await web_gateway.logged_in()
    try:
        body = '{"source": "' + "x" * (MAX_REQUEST_BYTES + 1024) + '"}'
        status, answer = await client.call("POST", "/scripts/check", data=body,
                                           headers={"Content-Type": "application/json"})
    finally:
        await client.close()
    assert status == 413 and "too large" in answer["error"]
    assert not _tracebacks(caplog)


@pytest.mark.parametrize("path", ["/scripts/check", "/config/gateway"])
async def test_json_nested_100000_deep_is_a_400_with_one_line(
        web_gateway: WebGateway, caplog: pytest.LogCaptureFixture, path: str) -> None:
    client = await web_gateway.logged_in()
    caplog.clear()
    try:
        method = "PUT" if path == "/config/gateway" else "POST"
        status, answer = await client.call(method, path, data=DEEP_JSON, headers={"Content-Type": "application/json"})
    finally:
        await client.close()
    assert status == 400 and "nests deeper" in answer["error"]
    refused = [r for r in caplog.records if r.name == "gateway.web"]
    assert len(refused) == 1 and not _tracebacks(caplog)


async def test_hostile_login_bodies_are_400s_that_count_as_failed_logins(web_gateway: WebGateway) -> None:
    await (await web_gateway.logged_in()).close()  # a password is set
    anonymous = Client(web_gateway.url)
    try:
        answers = [await anonymous.call("POST", "/auth/login", data=DEEP_JSON,
                                        headers={"Content-Type": "application/json"}) for _ in range(5)]
        status, _ = await anonymous.call("POST", "/auth/login", {"password": "a long enough secret"})
    finally:
        await anonymous.close()
    assert {s for s, _ in answers} == {400}
    assert status == 429  # five malformed attempts locked the address out like five wrong passwords


async def test_a_config_import_nested_20000_deep_is_a_400_with_one_line(
        web_gateway: WebGateway, caplog: pytest.LogCaptureFixture) -> None:
    client = await web_gateway.logged_in()
    caplog.clear()
    try:
        status, answer = await client.call("POST", "/config/import", data=b"a: " + b"[" * 20_000 + b"]" * 20_000,
                                           headers={"Content-Type": "application/yaml"})
    finally:
        await client.close()
    assert status == 400 and ("not a YAML file" in answer["error"] or "deeper" in answer["error"])
    assert len([r for r in caplog.records if r.name.startswith("gateway")]) <= 1 and not _tracebacks(caplog)


@pytest.mark.parametrize(("origin", "allowed"), [
    ("http://evil.example", False), ("null", False), ("http://127.0.0.1:1", False), (None, True), ("own", True)])
async def test_the_live_view_answers_only_the_gateways_own_pages(
        web_gateway: WebGateway, origin: str | None, allowed: bool) -> None:
    client = await web_gateway.logged_in()
    headers = {} if origin is None else {"Origin": web_gateway.url if origin == "own" else origin}
    try:
        if allowed:
            async with client.http.ws_connect(web_gateway.url.replace("http", "ws") + "/ws", headers=headers) as ws:
                message = await ws.receive_json(timeout=5)
                assert message["type"] in ("values", "log")
        else:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.http.ws_connect(web_gateway.url.replace("http", "ws") + "/ws", headers=headers)
            assert refused.value.status == 403
    finally:
        await client.close()


def _iotgo_cloud() -> dict[str, Any]:
    return {"name": "iot", "type": "iotgo", "host": "127.0.0.1", "port": 1,
            "devices": [{"deviceid": "10000abcde", "apikey": APIKEY, "measures": ["Temp"]}]}


async def test_an_iotgo_apikey_is_never_shown_and_kept_when_sent_back_hidden(web_gateway: WebGateway) -> None:
    config = yaml.safe_load(web_gateway.config_path.read_text())
    config["clouds"].append(_iotgo_cloud())
    web_gateway.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    client = await web_gateway.logged_in()
    try:
        status, _ = await client.call("POST", "/config/import", data=web_gateway.config_path.read_bytes(),
                                      headers={"Content-Type": "application/yaml"})
        assert status == 200
        _, whole = await client.call("GET", "/config")
        _, clouds = await client.call("GET", "/config/clouds")
        async with client.http.get(web_gateway.url + "/api/v1/config/export.yaml") as response:
            exported = await response.text()
        shown = next(c for c in clouds if c["name"] == "iot")
        shown["devices"][0]["measures"] = ["Temp", "Setpoint"]
        status, answer = await client.call("PUT", "/config/clouds/iot", shown)
    finally:
        await client.close()
    assert APIKEY not in str(whole) and APIKEY not in str(clouds) and APIKEY not in exported
    assert shown["devices"][0]["apikey"] == "********"
    assert status == 200, answer
    saved = yaml.safe_load(await asyncio.to_thread(Path(web_gateway.config_path).read_text))
    device = next(c for c in saved["clouds"] if c["name"] == "iot")["devices"][0]
    assert device["apikey"] == APIKEY and device["measures"] == ["Temp", "Setpoint"]

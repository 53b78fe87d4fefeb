"""The OPC UA driver against asyncua's own server: every NodeId form read and written, batched
Reads, a subscription, the server's statuses and timestamps, security and user authentication,
and a server that stops and comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config.schema import Controller
from gateway.core.errors import ConnectError, DeviceRejected
from gateway.core.source import Quality
from gateway.southbound import DataType, Point
from gateway_plugins.opcua.driver import OpcUaArgs, OpcUaDriver
from gateway_plugins.opcua.simserver import OpcUaSimServer
from tests.conftest import free_port
from tests.integration.device_outage import outage_is_reported_once_each_way
from tests.tls_certs import opcua_application

GUID = "09087e75-8e5e-499b-954f-f2a9603db28a"
POINTS = [
    Point("Temp", "ns=2;s=Line1.Temp", DataType.FLOAT),
    Point("Count", "ns=3;i=1001", DataType.DINT),
    Point("Running", f"ns=2;g={GUID}", DataType.BOOL),
    Point("Recipe", "ns=2;b=UmVjaXBlMQ==", DataType.STRING, length=32),
    Point("Batch", "nsu=urn:plant:mes;s=Batch.Name", DataType.STRING, length=32),
    Point("Setpoint", "ns=2;s=Line1.Setpoint", DataType.DOUBLE),
    Point("Level", "ns=2;i=7", DataType.WORD),
]
PINNED = {"Temp": 21.5, "Count": -40_000, "Running": True, "Recipe": "R-17", "Batch": "B-2026-12",
          "Setpoint": 42.25, "Level": 65_000}


@pytest.fixture
async def server() -> AsyncIterator[OpcUaSimServer]:
    simulated = OpcUaSimServer(POINTS, "127.0.0.1", free_port(), moving=lambda _p: False)
    for name, value in PINNED.items():
        simulated.set_value(name, value)
    await simulated.start()
    yield simulated
    await simulated.stop()


async def _read(driver: OpcUaDriver, points: list[Point]) -> Any:
    plan = OpcUaDriver.plan(points, driver.args)
    if not driver.connected:
        await driver.connect()
    return await driver.read(plan)


async def test_every_nodeid_form_is_read_in_batches_with_the_servers_timestamps(server: OpcUaSimServer) -> None:
    args = OpcUaArgs(max_nodes_per_read=3)
    driver = OpcUaDriver(server.url, 2.0, args)
    points = [*POINTS, Point("ServerTime", "i=2258", DataType.STRING, length=40)]
    plan = OpcUaDriver.plan(points, args)
    assert plan.request_count == 3  # 8 nodes, 3 a request
    try:
        await driver.connect()
        before = time.time()
        result = await driver.read(plan)
    finally:
        await driver.close()
    assert result.errors == {}
    assert {k: v for k, v in result.values.items() if k != "ServerTime"} == PINNED
    assert result.values["ServerTime"].startswith(time.strftime("%Y-", time.gmtime()))  # a DateTime, as ISO text
    source = result.sources["Temp"]
    assert source.quality is Quality.GOOD and source.timestamp is not None and source.timestamp <= before + 1


async def test_a_missing_node_a_bad_status_and_an_uncertain_value_are_told_apart(server: OpcUaSimServer) -> None:
    driver = OpcUaDriver(server.url, 2.0, OpcUaArgs())
    await server.write_status("Temp", 0x40000000 | 0x00920000, 19.75)  # Uncertain_LastUsableValue... of a sort
    await server.write_status("Count", 0x808B0000)  # BadSensorFailure-like: a Bad code, no value
    points = [*POINTS, Point("Ghost", "ns=2;s=NoSuchNode", DataType.FLOAT),
              Point("Wrong", "ns=2;s=Line1.Setpoint", DataType.BOOL)]  # a Double node read as a bit
    try:
        result = await _read(driver, points)
    finally:
        await driver.close()
    assert result.values["Temp"] == 19.75 and result.sources["Temp"].quality is Quality.UNCERTAIN
    assert result.sources["Temp"].status.startswith("Uncertain")
    assert "Count" not in result.values and result.errors["Count"].startswith("the server says Bad")
    assert result.errors["Ghost"] == "the server says BadNodeIdUnknown"
    assert result.errors["Wrong"] == "the node holds a Double (42.25), not a bit"
    assert result.values["Setpoint"] == 42.25  # the same node, read for the measure that fits it


async def test_writes_go_out_as_the_nodes_own_type_and_a_refusal_names_the_status(server: OpcUaSimServer) -> None:
    driver = OpcUaDriver(server.url, 2.0, OpcUaArgs())
    written = {"Temp": 30.5, "Count": 123_456, "Running": False, "Recipe": "R-18", "Batch": "B-2027-01",
               "Level": 7}
    try:
        await _read(driver, POINTS)  # learns each node's type
        for point in POINTS:
            if point.name in written:
                await driver.write(point, written[point.name])
        # a DOUBLE node written through a FLOAT measure: sent as the node's Double, not refused as a Float
        await driver.write(Point("AsFloat", "ns=2;s=Line1.Setpoint", DataType.FLOAT), 12.5)
        with pytest.raises(DeviceRejected, match=r"BadNotWritable|BadUserAccessDenied"):
            await driver.write(Point("ServerTime", "i=2258", DataType.STRING, length=40), "2020-01-01")
        with pytest.raises(DeviceRejected, match=r"refused the write: Bad(NodeIdUnknown|UserAccessDenied)"):
            await driver.write(Point("Ghost", "ns=2;s=NoSuchNode", DataType.FLOAT), 1.0)
        result = await _read(driver, POINTS)
    finally:
        await driver.close()
    assert {name: result.values[name] for name in written} == written
    assert result.values["Setpoint"] == 12.5


async def test_a_subscription_delivers_changes_past_the_deadband(server: OpcUaSimServer) -> None:
    args = OpcUaArgs(mode="subscribe", publishing_interval=0.05, deadband=1.0)
    driver = OpcUaDriver(server.url, 2.0, args)
    points = POINTS[:1]
    plan = OpcUaDriver.plan(points, args)
    try:
        await driver.connect()
        first = await driver.read(plan)  # subscribes, and waits for the first values
        assert first.values == {"Temp": 21.5} and first.sources["Temp"].quality is Quality.GOOD
        server.set_value("Temp", 21.9)  # inside the deadband: not sent
        await asyncio.sleep(0.6)
        assert (await driver.read(plan)).values == {}  # nothing came: the reading keeps 21.5
        server.set_value("Temp", 25.0)
        arrived: dict[str, Any] = {}
        for _ in range(40):
            await asyncio.sleep(0.05)
            arrived.update((await driver.read(plan)).values)
            if arrived:
                break
        assert arrived == {"Temp": 25.0}
    finally:
        await driver.close()


@pytest.mark.parametrize("mode", ["poll", "subscribe"])
async def test_a_server_that_stops_and_comes_back_is_reported_once_each_way(
        mode: str, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    controller = Controller(name="MES", protocol="opcua", endpoint=f"opc.tcp://127.0.0.1:{port}", timeout=0.5,
                            args={"mode": mode, "publishing_interval": 0.05})
    await outage_is_reported_once_each_way(controller, POINTS[:1], "Temp", caplog,
                                           notice_after=2.5)  # the session's watchdog notices


async def test_sign_and_encrypt_with_a_user_and_password(tmp_path: Path) -> None:
    server_files = opcua_application(tmp_path / "server", "server", "urn:edge-gateway:test:server")
    client_cert, client_key = opcua_application(tmp_path / "client", "client", "urn:edge-gateway:test:client")
    server = OpcUaSimServer(POINTS[:1], "127.0.0.1", free_port(), moving=lambda _p: False, security=server_files,
                            users={"operator": "s3cret-Pa55"})
    server.set_value("Temp", 21.5)
    await server.start()
    secure = {"security_mode": "SignAndEncrypt", "security_policy": "Basic256Sha256",
              "certificate": str(client_cert), "private_key": str(client_key), "auth": "username",
              "username": "operator"}
    try:
        driver = OpcUaDriver(server.url, 3.0, OpcUaArgs.model_validate({**secure, "password": "s3cret-Pa55"}))
        try:
            result = await _read(driver, POINTS[:1])
        finally:
            await driver.close()
        assert result.values == {"Temp": 21.5}
        wrong = OpcUaDriver(server.url, 3.0, OpcUaArgs.model_validate({**secure, "password": "guess"}))
        with pytest.raises(ConnectError, match=r"cannot connect to .*Bad"):
            await wrong.connect()
        anonymous = OpcUaDriver(server.url, 3.0, OpcUaArgs())
        with pytest.raises(ConnectError):
            await anonymous.connect()  # this server admits no anonymous user
        by_certificate = {k: v for k, v in secure.items() if k not in ("auth", "username")}
        certified = OpcUaDriver(server.url, 3.0, OpcUaArgs.model_validate({**by_certificate, "auth": "certificate",
                                                                           "security_mode": "Sign"}))
        try:
            assert (await _read(certified, POINTS[:1])).values == {"Temp": 21.5}
        finally:
            await certified.close()
    finally:
        await server.stop()


@pytest.mark.parametrize(("raw", "reason"), [
    ({"security_mode": "Sign"}, "go together"),
    ({"security_mode": "SignAndEncrypt", "security_policy": "Basic256Sha256"}, "need certificate and private_key"),
    ({"auth": "username", "username": "operator"}, "needs username and password"),
    ({"username": "operator", "password": "x"}, "only with auth: username"),
    ({"mode": "stream"}, "'poll' or 'subscribe'"),
])
def test_bad_security_args_are_explained(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        OpcUaArgs.model_validate(raw)

"""A SCADA reads the gateway as an OPC UA server (asyncua's client against the real gateway):
the address space, values with status and source timestamps, subscriptions, writes through to
the simulated PLC, and the security it asks for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_gateway, still_modbus_plc, write_config
from tests.tls_certs import opcua_application
from tests.waiting import until

NAMESPACE = "urn:test:measures"
USER, PASSWORD = "scada", "correct-horse-1"
PLC_VALUES = {"Temp": 21.5, "Speed": 1450, "Setpoint": 40.0}


def _config(tmp_path: Path, plc_port: int, server: dict[str, Any]) -> dict[str, Any]:
    return {
        "gateway": {"name": "line7", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{plc_port}",
                         "sample_period": 0.1, "timeout": 1.0}],
        "measures": [
            {"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT", "unit": "°C",
             "desc": "oven temperature"},
            {"name": "Speed", "controller": "PLC1", "group": "g", "address": "40003", "type": "INT"},
            {"name": "Setpoint", "controller": "PLC1", "group": "g", "address": "40010", "type": "FLOAT",
             "access": "rw"},
        ],
        "groups": [{"name": "g", "upload_interval": 10}],
        "services": {"opcua_server": {"host": "127.0.0.1", "namespace_uri": NAMESPACE,
                                      "users": [{"username": USER, "password": PASSWORD}], **server}},
    }


@pytest.fixture
async def line(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[ModbusSimServer, str, Any]]:
    plc_port, port = free_port(), free_port()
    extra = getattr(request, "param", {})
    path = write_config(tmp_path, _config(tmp_path, plc_port, {"port": port, **extra}))
    plc = await still_modbus_plc(path, plc_port, PLC_VALUES)
    try:
        async with running_gateway(path) as gateway:
            await until(lambda: gateway.status().services["opcua_server"]["state"].startswith("listening"),
                        "the OPC UA server to listen", 30)
            yield plc, f"opc.tcp://127.0.0.1:{port}/", gateway
    finally:
        await plc.stop()


async def _secure_client(url: str, tmp_path: Path) -> Client:
    client = Client(url, timeout=5)
    certificate, key = opcua_application(tmp_path / "client", "scada", "urn:test:scada")
    await client.set_security(SecurityPolicyBasic256Sha256, str(certificate), str(key),
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    client.set_user(USER)
    client.set_password(PASSWORD)
    return client


async def test_a_scada_browses_reads_subscribes_and_writes_through(
        line: tuple[ModbusSimServer, str, Any], tmp_path: Path) -> None:
    plc, url, gateway = line
    client = await _secure_client(url, tmp_path)
    async with client:
        ns = await client.get_namespace_index(NAMESPACE)
        temp = await client.nodes.objects.get_child([f"{ns}:line7", f"{ns}:PLC1", f"{ns}:Temp"])
        assert temp.nodeid == ua.NodeId("PLC1.Temp", ns)

        async def served(node: Any, value: Any) -> bool:
            data = await node.read_data_value()
            return bool(data.StatusCode.is_good() and data.Value.Value == value)
        await until(lambda: served(temp, 21.5), "the first reading", 10)
        data = await temp.read_data_value()
        assert data.Value.VariantType == ua.VariantType.Float and data.SourceTimestamp is not None
        assert await temp.read_data_type() == ua.NodeId(ua.ObjectIds.Float)
        assert (await temp.read_description()).Text == "oven temperature"
        units = await temp.get_child("0:EngineeringUnits")
        assert (await units.read_value()).DisplayName.Text == "°C"

        changes: asyncio.Queue[Any] = asyncio.Queue()

        class Handler:
            def datachange_notification(self, _node: Any, value: Any, _data: Any) -> None:
                changes.put_nowait(value)
        subscription = await client.create_subscription(50, Handler())
        await subscription.subscribe_data_change(temp)
        assert await asyncio.wait_for(changes.get(), 5) == 21.5
        plc.set_value("Temp", 22.75)  # the PLC changes: the subscription sees it, nobody polled our store
        assert await asyncio.wait_for(_next_other(changes, 21.5), 10) == 22.75

        setpoint = await client.nodes.objects.get_child([f"{ns}:line7", f"{ns}:PLC1", f"{ns}:Setpoint"])
        await setpoint.write_value(ua.DataValue(ua.Variant(55.5, ua.VariantType.Float)))
        assert plc.get_value("Setpoint") == 55.5  # on the PLC before the client got its answer
        speed = await client.nodes.objects.get_child([f"{ns}:line7", f"{ns}:PLC1", f"{ns}:Speed"])
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await speed.write_value(ua.DataValue(ua.Variant(7, ua.VariantType.Int16)))
        assert refused.value.code == ua.StatusCodes.BadNotWritable or "BadUserAccessDenied" in str(refused.value)
        with pytest.raises(ua.UaStatusCodeError):
            await setpoint.write_value(ua.DataValue(ua.Variant("hot", ua.VariantType.String)))
        assert plc.get_value("Setpoint") == 55.5 and plc.get_value("Speed") == 1450

        await plc.stop()  # the PLC goes away: the value turns Bad, and the subscription is told
        async def bad() -> bool:
            data = await temp.read_data_value(raise_on_bad_status=False)
            return data.StatusCode.value == ua.StatusCodes.BadCommunicationError
        await until(bad, "the Bad status", 15)
        with pytest.raises(ua.UaStatusCodeError):  # a write the PLC cannot take answers Bad
            await setpoint.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Float)))
    status = gateway.status().services["opcua_server"]
    assert status["writes"] == 1 and status["refused_writes"] >= 2


async def _next_other(changes: asyncio.Queue[Any], old: Any) -> Any:
    while (value := await changes.get()) == old:
        pass
    return value


async def test_nobody_gets_in_without_a_user_or_over_an_unencrypted_endpoint(
        line: tuple[ModbusSimServer, str, Any], tmp_path: Path) -> None:
    _plc, url, _gateway = line
    anonymous = Client(url, timeout=5)
    with pytest.raises(Exception):  # noqa: B017 (asyncua raises several kinds for a refused session)
        async with anonymous:
            pass
    wrong = await _secure_client(url, tmp_path)
    wrong.set_password("not-the-password")
    with pytest.raises(Exception):  # noqa: B017
        async with wrong:
            pass
    endpoints = await Client(url, timeout=5).connect_and_get_server_endpoints()
    modes = {endpoint.SecurityMode for endpoint in endpoints}
    assert modes == {ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt}  # no None
    tokens = {token.TokenType for endpoint in endpoints for token in endpoint.UserIdentityTokens}
    assert tokens == {ua.UserTokenType.UserName}  # anonymous is off


@pytest.mark.parametrize("line", [{"allow_anonymous": True, "allow_unencrypted": True, "users": []}], indirect=True)
async def test_an_anonymous_client_reads_over_the_unencrypted_endpoint_when_allowed(
        line: tuple[ModbusSimServer, str, Any]) -> None:
    _plc, url, _gateway = line
    async with Client(url, timeout=5) as client:
        ns = await client.get_namespace_index(NAMESPACE)
        speed = client.get_node(f"ns={ns};s=PLC1.Speed")

        async def served() -> bool:
            return bool((await speed.read_data_value(raise_on_bad_status=False)).Value.Value == 1450)
        await until(served, "the value", 10)

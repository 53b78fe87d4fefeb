"""A gateway with its web UI, a simulated PLC and a broker, started on free loopback ports."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from gateway.demo.broker import MosquittoBroker
from gateway.runtime.service import GatewayService
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import REPO, free_port
from tests.integration.gateway_harness import running_service, write_config

PASSWORD = "a long enough secret"
UPLOAD_SCRIPT = "def upload(data, api):\n    return {'values': data['values']}\n"


@dataclass
class WebGateway:
    """What a web test needs: where the UI is, the service, the PLC simulator, the files."""

    url: str
    service: GatewayService
    plc: ModbusSimServer
    config_path: Path
    broker_port: int

    @property
    def plc_endpoint(self) -> str:
        return f"127.0.0.1:{self.plc.port}"

    @property
    def setup_code(self) -> str:
        return self.service.passwords.setup_code_path.read_text().strip()

    @property
    def certificate(self) -> Path:
        """The certificate the gateway made for its UI at its first start."""
        return self.service.data_dir / "web" / "certificate.pem"

    async def logged_in(self) -> Client:
        """Set the password with the setup code (once) and return a logged-in client, which
        checks that the UI shows the certificate the gateway made."""
        client = Client(self.url, trusted=self.certificate)
        if not self.service.passwords.is_set:
            await client.call("POST", "/auth/setup", {"code": self.setup_code, "password": PASSWORD})
        else:
            await client.call("POST", "/auth/login", {"password": PASSWORD})
        return client


class Client:
    """An HTTP client with its own cookie jar that sends the CSRF token it was given."""

    def __init__(self, url: str, trusted: Path | None = None) -> None:
        """``trusted``: the certificate an https ``url`` must show (else any is taken: a test
        about something else need not prove who the gateway is)."""
        self.url = url
        check: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(trusted)) if trusted else False
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          connector=aiohttp.TCPConnector(ssl=check))
        self.csrf = ""

    async def call(self, method: str, path: str, body: Any = None, *, csrf: bool = True,
                   data: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        sent = dict(headers or {})
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        async with self.http.request(method, self.url + "/api/v1" + path, json=body, data=data,
                                     headers=sent) as response:
            text = await response.text()
            try:
                answer = json.loads(text) if text else None
            except ValueError:
                answer = text
            if isinstance(answer, dict) and answer.get("csrf"):
                self.csrf = answer["csrf"]
            return response.status, answer

    async def close(self) -> None:
        await self.http.close()


def web_config(web_port: int, plc_port: int, broker_port: int) -> dict[str, Any]:
    """A line with one Modbus PLC (a moving temperature and an rw setpoint) and one cloud."""
    return {
        "gateway": {"name": "web-test", "data_dir": "./state", "web": {"host": "127.0.0.1", "port": web_port}},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{plc_port}",
                         "sample_period": 0.2, "timeout": 1.0}],
        "measures": [
            {"name": "Temp", "controller": "PLC1", "group": "default", "address": "40001", "type": "FLOAT",
             "unit": "C"},
            {"name": "Setpoint", "controller": "PLC1", "group": "default", "address": "40011", "type": "FLOAT",
             "access": "rw"},
        ],
        "groups": [{"name": "default", "upload_interval": 0.5, "history": True}],
        "alarms": [{"name": "TempAlive", "measure": "Temp", "level": 2, "content": "the temperature is read",
                    "cond1": {"op": "gt", "value": -1000}}],
        "clouds": [{"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": broker_port,
                    "client_id": "web-test", "username": "gw", "password": "broker-secret-1",
                    "will": {"topic": "plant/status", "payload": "offline"}}],
        "publish": [{"name": "upload", "cloud": "default", "topic": "plant/data", "qos": 1, "groups": ["default"],
                     "function": "upload", "script": "scripts/upload.py"}],
    }


@pytest_asyncio.fixture
async def web_gateway(tmp_path: Path, broker: MosquittoBroker) -> AsyncIterator[WebGateway]:
    web_port, plc_port = free_port(), free_port()
    points = [Point("Temp", "40001", DataType.FLOAT), Point("Setpoint", "40011", DataType.FLOAT),
              Point("Level", "40021", DataType.INT)]
    plc = ModbusSimServer(points, "127.0.0.1", plc_port, moving=lambda p: p.name in ("Temp", "Level"))
    await plc.start()
    path = write_config(tmp_path, web_config(web_port, plc_port, broker.port), {"upload.py": UPLOAD_SCRIPT})
    try:
        async with running_service(path, web=True) as service:
            yield WebGateway(f"https://127.0.0.1:{web_port}", service, plc, path, broker.port)
    finally:
        await plc.stop()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (kept after the run: open them to see each page)."""
    folder = REPO / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder

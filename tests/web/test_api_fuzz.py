"""Schemathesis against the OpenAPI document, logged in: whatever a client sends, the API answers
without a server error. Changes that would point the gateway at other machines or paths (clouds,
controllers, serial ports, the data folder, a whole new file) are left out: network tests touch
only 127.0.0.1, and the rest of the suite covers those endpoints."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from gateway.web import build_api
from tests.conftest import free_port
from tests.integration.gateway_harness import running_service, write_config
from tests.web.conftest import PASSWORD

schema = schemathesis.openapi.from_dict(build_api().openapi()).exclude(
    path_regex=r"^/api/v1/config/(clouds|controllers|serial_ports|gateway|import)(/|$)",
    method=["POST", "PUT", "DELETE"],
).exclude(path_regex=r"^/api/v1/auth/(logout|password)$")


class ServiceThread:
    """A gateway service with a simulated controller, run on its own event loop in a thread."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.config = write_config(folder, {
            "gateway": {"name": "fuzz", "data_dir": "./state",
                        "web": {"host": "127.0.0.1", "port": self.port, "tls": False}},
            "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.5}],
            "measures": [{"name": f"M{i}", "controller": "Sim", "group": "g", "address": "sine", "type": "FLOAT"}
                         for i in range(5)],
            "groups": [{"name": "g", "upload_interval": 1}],
        })
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with running_service(self.config, web=True):
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._failed = exc
            self._ready.set()
            raise

    def __enter__(self) -> ServiceThread:
        self._thread.start()
        assert self._ready.wait(30), "the gateway did not start"
        if self._failed is not None:
            raise self._failed
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def logged_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, requests.Session]]:
    with ServiceThread(tmp_path_factory.mktemp("fuzz")) as service:
        url = f"http://127.0.0.1:{service.port}"
        session = requests.Session()
        code = (service.config.parent / "state" / "setup-code").read_text().strip()
        answer = session.post(url + "/api/v1/auth/setup", json={"code": code, "password": PASSWORD}, timeout=30)
        answer.raise_for_status()
        session.headers["X-CSRF-Token"] = answer.json()["csrf"]
        yield url, session


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any, logged_in: tuple[str, requests.Session]) -> None:
    url, session = logged_in
    response = case.call(base_url=url, session=session, timeout=30)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    if response.headers.get("Content-Type", "").startswith("application/json"):
        response.json()  # every JSON answer parses

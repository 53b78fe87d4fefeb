"""The web layer serves any AdminBackend: here one holding a fixed, frozen status and no running
gateway, which is all the pages and /metrics may read (no poller, connector or runner behind it)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pytest
import yaml

from gateway.config import LoadedConfig, parse_config
from gateway.runtime.log_tail import LogTail
from gateway.runtime.passwords import PasswordStore
from gateway.runtime.script_logs import ScriptLogs
from gateway.runtime.status import ControllerStatus, GatewayStatus, LiveData, ScriptStatus
from gateway.web import start_web
from gateway.web.backend import AdminBackend
from tests.conftest import free_port
from tests.web.conftest import PASSWORD, Client

T = TypeVar("T")
PAUSED = "failed 5 times in a row, paused for 30 s; last: line 2: KeyError: 'x'"


class FrozenBackend:
    """A gateway that is said to run with one failing PLC and one paused script."""

    def __init__(self, config: LoadedConfig, data_dir: Path) -> None:
        self.config, self.data_dir, self.started_at = config, data_dir, time.time() - 60
        self.passwords = PasswordStore(data_dir)
        self.log_tail, self.script_logs = LogTail(), ScriptLogs(data_dir / "logs")
        self.writes: list[tuple[str, str, Any]] = []
        self.audit = None  # not kept by this backend: the audit page answers 503

    def status(self) -> GatewayStatus:
        plc = ControllerStatus(name="PLC1", protocol="modbus-tcp", endpoint="10.0.0.9:502", measures=3,
                               healthy=False, degraded=True, last_error="no answer in 2 s", last_success=0.0,
                               cycles=12, failed_cycles=12, read_seconds=24.0)
        script = ScriptStatus(name="publish:upload", problem=PAUSED, resumes_at=2e9, bad_messages=0,
                              calls=5, failed_calls=5, timeouts=0)
        return GatewayStatus(name="frozen", controllers=(plc,), clouds=(), outbox=None,
                             scripts=MappingProxyType({script.name: script}), failed_parts=MappingProxyType({}),
                             alarms_active=0)

    def live_data(self) -> LiveData | None:
        return None  # values and stores are not there yet: pages that need them answer 503

    async def write_value(self, controller: str, measure: str, value: Any, by: str) -> dict[str, Any] | None:
        self.writes.append((controller, measure, value))
        return None

    async def change(self, edit: Callable[[], T], by: str = "", how: str = "",
                     action: str = "") -> tuple[T, LoadedConfig]:
        raise AssertionError("no test here changes the configuration")


@pytest.fixture
async def frozen(tmp_path: Path) -> AsyncIterator[tuple[str, FrozenBackend]]:
    port = free_port()
    config = {"gateway": {"name": "frozen", "data_dir": str(tmp_path),
                          "web": {"host": "127.0.0.1", "port": port, "metrics_token": "scrape-me-123"}}}
    backend = FrozenBackend(parse_config(yaml.safe_dump(config), tmp_path / "config.yaml"), tmp_path)
    backend.passwords.set_password(PASSWORD)
    typed: AdminBackend = backend  # mypy checks that it is one
    runner = await start_web(typed, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}", backend
    finally:
        await runner.cleanup()


async def test_pages_and_metrics_show_only_what_the_backend_says(frozen: tuple[str, FrozenBackend]) -> None:
    url, backend = frozen
    client = Client(url)
    try:
        assert (await client.call("GET", "/health"))[1]["status"] == "ready"
        assert (await client.call("POST", "/auth/login", {"password": PASSWORD}))[0] == 200
        status, overview = await client.call("GET", "/status")
        assert status == 200 and overview["running"] and overview["name"] == "frozen"
        assert overview["controllers"] == [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": "10.0.0.9:502",
                                            "healthy": False, "degraded": True, "last_error": "no answer in 2 s",
                                            "last_success": None, "measures": 3, "cycles": 12,
                                            "failed_cycles": 12}]
        assert overview["scripts"] == [{"name": "publish:upload", "faulted": PAUSED, "resumes_at": 2e9,
                                        "bad_messages": 0, "calls": 5, "failed_calls": 5}]
        machine = overview["machine"]
        assert machine["memory_total"] > machine["memory_available"] > 0 and machine["disk_free"] > 0
        assert machine["gateway_memory"] > 10 * 2**20 and machine["machine_uptime"] > 0
        assert abs(machine["time"] - time.time()) < 60 and isinstance(machine["utc_offset"], int)
        assert overview["outbox"] is None
        assert (await client.call("GET", "/history/measures"))[0] == 503  # no running gateway's stores
        status, _ = await client.call("POST", "/measures/PLC1/SP/write", {"value": 1})
        assert (status, backend.writes) == (503, [("PLC1", "SP", 1)])
        assert (await client.call("GET", "/audit"))[0] == 503
        async with client.http.get(url + "/docs/configuration.md") as response:  # the forms link to it
            assert response.status == 200 and "# Configuration reference" in await response.text()
        async with client.http.get(url + "/metrics", headers={"Authorization": "Bearer scrape-me-123"}) as response:
            text = await response.text()
    finally:
        await client.close()
    assert 'gateway_controller_healthy{controller="PLC1"} 0.0' in text
    assert 'gateway_controller_read_errors_total{controller="PLC1"} 12.0' in text
    assert 'gateway_script_faulted{script="publish:upload"} 1.0' in text
    assert "gateway_outbox_depth" not in text  # no outbox said

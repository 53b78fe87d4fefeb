"""A real Device Supervisor 2.x export imports completely, passes `gateway check`, and runs
against snap7 simulators serving its addresses. The export is read from ../shared, never copied."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import load_config
from gateway.demo.broker import MosquittoBroker
from gateway.demo.plcs import simulators_for
from tests.conftest import REPO, Subscriber, free_port
from tests.integration.gateway_harness import running_gateway

EXPORT = REPO.parent / "shared" / "data" / "device-supervisor" / "device_supervisor.cfg"
pytestmark = pytest.mark.skipif(not EXPORT.exists(), reason=f"{EXPORT} is not beside this checkout")


def _import(folder: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gateway", "import-ds", str(EXPORT), "-o", str(folder / "config.yaml")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_export_imports_completely_and_passes_check(tmp_path: Path) -> None:
    done = _import(tmp_path)
    assert done.returncode == 0, done.stderr
    export = json.loads(EXPORT.read_text(encoding="utf-8"))
    model = load_config(tmp_path / "config.yaml").model
    assert [c.name for c in model.controllers] == [c["name"] for c in export["controllers"]]
    assert len(model.measures) == len(export["measures"]) == 415
    assert {m.address for m in model.measures} == {m["addr"] for m in export["measures"]}
    assert [g.name for g in model.groups] == [g["name"] for g in export["groups"]]
    assert model.gateway.labels["devNo"] == "8407" and model.cache.max_alarm_records == 2000
    assert [r.name for r in model.publish] == ["上报"] and [r.name for r in model.subscribe] == ["下发"]
    # the one thing not carried is named, with the reason
    assert done.stdout.count("not carried over:") == 1
    assert "'时间同步': not imported, the sandbox refuses its script" in done.stdout
    assert "line 4: import of 'requests'" in done.stdout
    assert (tmp_path / "scripts" / "download_2.py").exists()  # kept for reference
    assert "gateway check passes" in done.stdout
    assert _import(tmp_path).returncode == 2  # an existing config.yaml is not overwritten without --force


async def test_the_imported_configuration_runs_against_simulators_at_its_addresses(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    assert (await asyncio.to_thread(_import, tmp_path)).returncode == 0
    path = tmp_path / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for controller in config["controllers"]:  # the plant's PLCs are simulated on this machine
        controller["endpoint"], controller["sample_period"] = f"127.0.0.1:{free_port()}", 0.3
    for group in config["groups"]:
        group["upload_interval"] = 0.5
    config["clouds"][0].update(host="127.0.0.1", port=broker.port)
    config["gateway"]["web"] = {"host": "127.0.0.1", "port": free_port()}
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    servers = simulators_for(load_config(path))
    assert len(servers) == 2
    subscriber: Subscriber = subscribe("/sys/GL5022501068755/up")
    for _label, server in servers:
        await server.start()
    try:
        async with running_gateway(path) as gateway:
            message = json.loads((await asyncio.to_thread(subscriber.get, 15)).payload)
            assert all(p.health.healthy for p in gateway.pollers)
    finally:
        for _label, server in servers:
            await server.stop()
    assert message["cmdId"] == "103" and message["gatewaySn"] == "GL5022501068755"
    assert "1#SSB.JK" in message or "2#SSB.GZ" in message

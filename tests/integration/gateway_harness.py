"""Run a real Gateway in the test's event loop from a config written into a temporary folder."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import yaml

from gateway.app import Gateway
from gateway.config import load_config
from gateway.service import GatewayService
from tests.conftest import REPO


def write_config(folder: Path, config: dict[str, object], scripts: dict[str, str] | None = None) -> Path:
    """Write ``config`` (and the example scripts, plus ``scripts``) into ``folder``."""
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    for example in (REPO / "scripts").glob("*.py"):
        shutil.copy(example, folder / "scripts" / example.name)
    for name, source in (scripts or {}).items():
        (folder / "scripts" / name).write_text(source)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.asynccontextmanager
async def running_gateway(config_path: Path, web: bool = False) -> AsyncIterator[Gateway]:
    """Start a gateway (as ``gateway run`` does, with the web UI when ``web``) and stop it cleanly
    at the end of the block."""
    async with running_service(config_path, web) as service:
        assert service.gateway is not None
        yield service.gateway


@contextlib.asynccontextmanager
async def running_service(config_path: Path, web: bool = True) -> AsyncIterator[GatewayService]:
    """Start the gateway service of ``config_path`` and stop it cleanly at the end of the block."""
    service = GatewayService(load_config(config_path), web_ui=web)
    started = asyncio.Event()
    task = asyncio.create_task(service.run(started))
    await asyncio.wait({task, asyncio.create_task(started.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield service
    finally:
        service.request_stop()
        await asyncio.wait_for(task, 10)


def mqtt_cloud(port: int) -> dict[str, object]:
    """A plain MQTT cloud on the test broker."""
    return {"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": port, "client_id": "gateway-under-test"}

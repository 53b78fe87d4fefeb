"""Run a real Gateway in the test's event loop from a config written into a temporary folder."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml

from gateway.config import load_config, measure_point
from gateway.runtime.app import Gateway
from gateway.runtime.service import GatewayService
from gateway.web import serve_admin_ui
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import REPO, Subscriber


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
    service = GatewayService(load_config(config_path), front_end=serve_admin_ui if web else None)
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


class TopicInbox:
    """The first message of each topic a subscriber receives, JSON-decoded, in whatever order
    they arrive: waiting for one topic keeps the others that came first."""

    def __init__(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber
        self._first: dict[str, Any] = {}

    async def first(self, topic: str, timeout: float = 15.0) -> Any:
        """Return the first message on ``topic``; raise queue.Empty when none comes in time."""
        deadline = asyncio.get_running_loop().time() + timeout
        while topic not in self._first:
            remaining = max(0.1, deadline - asyncio.get_running_loop().time())
            message = await asyncio.to_thread(self._subscriber.get, remaining)
            self._first.setdefault(message.topic, json.loads(message.payload))
        return self._first[topic]


async def still_modbus_plc(config_path: Path, port: int, values: dict[str, Any]) -> ModbusSimServer:
    """Start a Modbus PLC on ``port`` serving the measures of the configuration's one controller,
    holding ``values`` (nothing moves unless written); the caller stops it."""
    config = load_config(config_path)
    [controller] = config.model.controllers
    plc = ModbusSimServer([measure_point(m, controller) for m in config.model.measures], "127.0.0.1", port,
                          moving=lambda _p: False)
    for name, value in values.items():
        plc.set_value(name, value)
    await plc.start()
    return plc


def mqtt_cloud(port: int) -> dict[str, object]:
    """A plain MQTT cloud on the test broker."""
    return {"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": port, "client_id": "gateway-under-test"}


def simulated_gateway(name: str, broker_port: int, publish: list[dict[str, Any]], *, measure: str = "L",
                      address: str = "sine", upload_interval: float = 0.2, history: bool = False) -> dict[str, Any]:
    """The smallest whole gateway: one simulated controller ``Sim`` whose one measure is in group
    ``g``, the test broker as cloud ``default``, and ``publish`` rules (see ``script_rule``)."""
    return {
        "gateway": {"name": name, "data_dir": "state"},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": measure, "controller": "Sim", "group": "g", "address": address, "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": upload_interval, "history": history}],
        "clouds": [mqtt_cloud(broker_port)],
        "publish": publish,
    }


def script_rule(name: str, topic: str, script: str, function: str = "main") -> dict[str, Any]:
    """A QoS 1 publish rule of group ``g`` to cloud ``default`` that runs ``function`` of scripts/``script``."""
    return {"name": name, "cloud": "default", "topic": topic, "qos": 1, "groups": ["g"], "function": function,
            "script": f"scripts/{script}"}


def default_ctrl_c() -> None:
    """For ``preexec_fn`` of a gateway process the test stops with SIGINT: Ctrl-C at its default.
    A test run started in the background (``cmd &``) ignores SIGINT, and children inherit that;
    the gateway would then rightly ignore the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

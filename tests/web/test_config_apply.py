"""How a saved change is taken up: a change to one controller's settings restarts only that
controller's poller (the others keep polling, nothing else stops); any other change restarts the
gateway on the new file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from gateway.collect import ControllerPoller
from gateway.demo.broker import MosquittoBroker
from gateway.runtime.service import GatewayService
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_service, write_config
from tests.waiting import until
from tests.web.conftest import UPLOAD_SCRIPT, Client, web_config


@dataclass
class TwoLines:
    service: GatewayService
    client: Client
    spare_plc: ModbusSimServer  # not in the configuration: a controller can be moved to it


def _plc(port: int, level: int) -> ModbusSimServer:
    plc = ModbusSimServer([Point("Level", "40021", DataType.INT)], "127.0.0.1", port, moving=lambda _p: False)
    plc.set_value("Level", level)
    return plc


@pytest_asyncio.fixture
async def two_lines(tmp_path: Path, broker: MosquittoBroker) -> AsyncIterator[TwoLines]:
    web_port = free_port()
    plcs = [_plc(free_port(), level) for level in (11, 22, 33)]
    for plc in plcs:
        await plc.start()
    config = web_config(web_port, plcs[0].port, broker.port)
    config["controllers"].append({**config["controllers"][0], "name": "PLC2",
                                  "endpoint": f"127.0.0.1:{plcs[1].port}"})
    config["measures"] = [{"name": "Level", "controller": plc, "group": "default", "address": "40021",
                           "type": "INT"} for plc in ("PLC1", "PLC2")]
    config["alarms"] = []
    path = write_config(tmp_path, config, {"upload.py": UPLOAD_SCRIPT})
    try:
        async with running_service(path, web=True) as service:
            client = Client(f"https://127.0.0.1:{web_port}")
            await client.call("POST", "/auth/setup", {"code": service.passwords.setup_code(),
                                                      "password": "a long enough secret"})
            try:
                yield TwoLines(service, client, plcs[2])
            finally:
                await client.close()
    finally:
        for plc in plcs:
            await plc.stop()


async def _level(service: GatewayService, controller: str, expected: int) -> None:
    """Wait until the gateway holds ``expected`` as the controller's good value."""
    for _ in range(100):
        assert service.gateway is not None
        reading = service.gateway.latest.get(controller, "Level")
        if reading.status == 1 and reading.value == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{controller}.Level never read {expected}")


async def _polled_since(poller: ControllerPoller, cycles: int) -> None:
    await until(lambda: poller.health.cycles > cycles, f"{poller.name} to poll again", 5)


async def test_moving_one_controller_restarts_only_its_poller(two_lines: TwoLines) -> None:
    service, client = two_lines.service, two_lines.client
    await _level(service, "PLC1", 11)
    await _level(service, "PLC2", 22)
    gateway = service.gateway
    assert gateway is not None
    plc1 = next(p for p in gateway.pollers if p.name == "PLC1")
    cycles_before = plc1.health.cycles
    status, controllers = await client.call("GET", "/config/controllers")
    moved = {**controllers[1], "endpoint": f"127.0.0.1:{two_lines.spare_plc.port}", "sample_period": 0.3}
    status, answer = await client.call("PUT", "/config/controllers/PLC2", moved)
    assert status == 200, answer
    await _level(service, "PLC2", 33)  # read from the PLC it was moved to
    assert service.gateway is gateway  # the gateway did not restart: outbox, clouds and scripts ran on
    assert next(p for p in gateway.pollers if p.name == "PLC1") is plc1
    await _polled_since(plc1, cycles_before)
    plc2 = next(p for p in gateway.pollers if p.name == "PLC2")
    assert plc2.controller.sample_period == 0.3
    assert service.config.model.controllers[1].endpoint == moved["endpoint"]
    status, shown = await client.call("GET", "/config/controllers")
    assert shown[1]["endpoint"] == moved["endpoint"]


async def test_a_measure_change_restarts_the_gateway_on_the_new_file(two_lines: TwoLines) -> None:
    service, client = two_lines.service, two_lines.client
    gateway = service.gateway
    status, answer = await client.call("PUT", "/config/measures/PLC2/Level",
                                       {"name": "Level", "controller": "PLC2", "group": "default",
                                        "address": "40021", "type": "INT", "unit": "mm"})
    assert status == 200, answer
    assert service.gateway is not gateway and service.gateway is not None
    assert [m.unit for m in service.gateway.config.model.measures] == ["", "mm"]
    await _level(service, "PLC2", 22)

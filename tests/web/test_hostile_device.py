"""A PLC that answers every request with an exception is not healthy, wherever health is shown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.demo.broker import MosquittoBroker
from tests import hostile_modbus as hostile
from tests.conftest import free_port
from tests.hostile_modbus import HostileModbus
from tests.integration.gateway_harness import running_service, write_config
from tests.web.conftest import PASSWORD, UPLOAD_SCRIPT, Client, web_config
from tests.web.test_metrics import _samples

DEVICE_FAILURE = 4


async def test_a_plc_answering_only_exceptions_is_not_healthy(tmp_path: Path, broker: MosquittoBroker) -> None:
    web_port = free_port()
    async with HostileModbus(hostile.exception(DEVICE_FAILURE)) as plc:
        path = write_config(tmp_path, web_config(web_port, plc.port, broker.port), {"upload.py": UPLOAD_SCRIPT})
        async with running_service(path, web=True) as service:
            url = f"https://127.0.0.1:{web_port}"
            client = Client(url)
            try:
                await client.call("POST", "/auth/setup", {"code": service.passwords.setup_code_path.read_text().strip(),
                                                         "password": PASSWORD})
                for _ in range(100):
                    _, status = await client.call("GET", "/status")
                    if status["controllers"][0]["healthy"] is not None and plc.requests >= 2:
                        break
                    await asyncio.sleep(0.05)
                async with client.http.get(url + "/metrics") as response:
                    samples = _samples(await response.text())
            finally:
                await client.close()
    controller = status["controllers"][0]
    assert controller["healthy"] is False
    assert "every read failed" in controller["last_error"]
    assert "exception 4 (device failure)" in controller["last_error"]
    assert samples[("gateway_controller_healthy", (("controller", "PLC1"),))] == 0
    assert samples[("gateway_controller_read_errors_total", (("controller", "PLC1"),))] >= 1

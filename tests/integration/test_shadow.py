"""The device shadow against a shadow service with AWS semantics, on a real PLC simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.cloud.shadow import THROTTLE_PAUSE
from gateway.demo.broker import MosquittoBroker
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_gateway, write_config
from tests.integration.shadow_service import ShadowService
from tests.waiting import until

THING = "pump-7"


async def test_shadow_reports_and_applies_desired_changes(tmp_path: Path, broker: MosquittoBroker) -> None:
    port = free_port()
    plc = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT), Point("Setpoint", "40003", DataType.FLOAT)],
                          "127.0.0.1", port, moving=lambda _p: False)
    plc.set_value("Temp", 20.5)
    await plc.start()
    service = ShadowService(broker.port)
    service.set_desired(THING, {"Setpoint": 42.5, "Temp": 99})  # set while the gateway was away
    config: dict[str, Any] = {
        "gateway": {"name": "shadow", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{port}",
                         "sample_period": 0.1}],
        "measures": [
            {"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT"},
            {"name": "Setpoint", "controller": "PLC1", "group": "g", "address": "40003", "type": "FLOAT",
             "access": "rw"},
        ],
        "groups": [{"name": "g", "upload_interval": 60}],
        "clouds": [{"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": broker.port, "client_id": THING,
                    "shadow": {"group": "g", "timestamp": True, "interval": 0.2}}],
    }
    path = write_config(tmp_path, config)
    loop = asyncio.get_running_loop()
    try:
        async with running_gateway(path):
            # on connect: get, apply the waiting desired Setpoint (Temp is read-only: not written), report
            await until(lambda: service.reported(THING).get("Setpoint") == 42.5, "the waiting change")
            assert plc.get_value("Setpoint") == 42.5
            await until(lambda: service.reported(THING).get("Temp") == 20.5, "Temp reported")
            # a reading that changes is reported
            plc.set_value("Temp", 21.0)
            await until(lambda: service.reported(THING).get("Temp") == 21.0, "the change of Temp")
            # a desired change from the cloud is written and reported
            service.set_desired(THING, {"Setpoint": 10.0})
            await until(lambda: service.reported(THING).get("Setpoint") == 10.0, "the new Setpoint")
            assert plc.get_value("Setpoint") == 10.0
            # an old delta delivered late is ignored
            service.publish_delta(THING, {"Setpoint": 55.0}, version=1)
            await asyncio.sleep(0.5)
            assert plc.get_value("Setpoint") == 10.0
            # a version conflict makes the gateway fetch the shadow and report again
            service.reject_next_update = 409
            plc.set_value("Temp", 22.0)
            await until(lambda: service.reported(THING).get("Temp") == 22.0, "re-report after 409")
            # throttled (429): the gateway pauses, then reports again
            service.reject_next_update = 429
            plc.set_value("Temp", 23.0)
            throttled_at = loop.time()
            await until(lambda: service.reported(THING).get("Temp") == 23.0, "report after 429", timeout=15)
            assert loop.time() - throttled_at >= THROTTLE_PAUSE - 0.5
    finally:
        service.close()
        await plc.stop()
    updates = [u for u in service.updates if "reported" in u.get("state", {})]
    assert updates and all(isinstance(u["timestamp"], int) and u["timestamp"] > 1e12 for u in updates)
    assert all("clientToken" in u for u in updates)

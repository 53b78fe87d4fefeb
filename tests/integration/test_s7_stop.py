"""Stopping never waits for an S7 PLC that accepts TCP and then says nothing: snap7 holds its
connect until the controller's timeout, and neither closing the driver nor stopping the gateway
takes any part of it. (Timed against STOP_GRACE, so not among the unit tests.)"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from gateway.config import load_config
from gateway.core.errors import ConnectError
from gateway.runtime.app import STOP_GRACE
from gateway.runtime.service import GatewayService
from gateway_plugins.s7.driver import S7Args, S7Driver
from tests.integration.gateway_harness import write_config


async def _silent_plc() -> asyncio.Server:
    """A 'PLC' that accepts the connection and never says a word."""
    async def silent(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client goes away

    return await asyncio.start_server(silent, "127.0.0.1", 0)



async def test_closing_does_not_wait_for_a_plc_that_never_answers() -> None:
    """A PLC that accepts TCP and then says nothing holds snap7's connect until its timeout;
    closing the driver, as stopping or reconfiguring the gateway does, takes no part of it."""
    listener = await _silent_plc()
    port = listener.sockets[0].getsockname()[1]
    driver = S7Driver(f"127.0.0.1:{port}", 30.0, S7Args())
    connecting = asyncio.create_task(driver.connect())
    await asyncio.sleep(0.3)
    connecting.cancel()
    started = time.monotonic()
    await driver.close()
    closed_after = time.monotonic() - started
    with contextlib.suppress(asyncio.CancelledError, ConnectError):
        await connecting
    listener.close()
    assert closed_after < STOP_GRACE


async def test_the_gateway_stops_within_its_grace_while_an_s7_connect_hangs(tmp_path: Path) -> None:
    listener = await _silent_plc()
    port = listener.sockets[0].getsockname()[1]
    config = {
        "gateway": {"name": "s7-stop", "data_dir": "state"},
        "controllers": [{"name": "S7", "protocol": "s7", "endpoint": f"127.0.0.1:{port}", "timeout": 30}],
        "measures": [{"name": "Speed", "controller": "S7", "group": "g", "address": "DB3.2", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 1}],
    }
    service = GatewayService(load_config(write_config(tmp_path, config)))
    started = asyncio.Event()
    running = asyncio.create_task(service.run(started))
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.sleep(1.5)  # the poller is in its connect now
    asked = time.monotonic()
    service.request_stop()
    await asyncio.wait_for(running, 30)
    stopped_after = time.monotonic() - asked
    listener.close()
    assert stopped_after < 2 * STOP_GRACE, f"took {stopped_after:.1f} s"

"""S7: an answer whose form does not answer the request is refused whole (the session is opened
again), an item's return code refuses only that item, and closing never waits for a PLC that
accepted the connection but does not answer."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from gateway.core.errors import BadAnswer, ConnectError, DeviceRejected
from gateway.runtime.app import STOP_GRACE
from gateway.runtime.service import GatewayService
from gateway.southbound import DataType, Point
from gateway_plugins.s7.driver import S7Args, S7Driver
from gateway_plugins.s7.simserver import S7SimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import write_config

POINTS = [Point("Speed", "DB3.2", DataType.FLOAT), Point("Count", "DB3.6", DataType.DINT)]
HEADER = 12  # S7 ack-data header; then function, item count, then return code, transport size, bit length


def _item_count_2(answer: bytearray) -> bytearray:
    answer[HEADER + 1] = 2
    return answer


def _write_function(answer: bytearray) -> bytearray:
    answer[HEADER] = 0x05
    return answer


def _one_byte_short(answer: bytearray) -> bytearray:
    del answer[-1]
    data_length, bits = struct.unpack_from(">H", answer, 8)[0], struct.unpack_from(">H", answer, HEADER + 4)[0]
    struct.pack_into(">H", answer, 8, data_length - 1)
    struct.pack_into(">H", answer, HEADER + 4, bits - 8)
    return answer


def _return_code(code: int) -> Callable[[bytearray], bytearray]:
    def mangle(answer: bytearray) -> bytearray:
        answer[HEADER + 2] = code
        return answer
    return mangle


@contextlib.asynccontextmanager
async def _plc(mangle: Callable[[bytearray], bytearray]) -> AsyncIterator[int]:
    port = free_port()
    server = S7SimServer(POINTS, "127.0.0.1", port, moving=lambda _p: False)
    inner = server._server
    honest = inner._handle_read_area

    def hostile(request: dict[str, Any], client: tuple[str, int]) -> bytes:
        return bytes(mangle(bytearray(honest(request, client))))

    inner._handle_read_area = hostile  # type: ignore[method-assign]
    await server.start()
    try:
        yield port
    finally:
        await server.stop()


async def _silent_plc() -> asyncio.Server:
    """A 'PLC' that accepts the connection and never says a word."""
    async def silent(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client goes away

    return await asyncio.start_server(silent, "127.0.0.1", 0)


FORMS = {"item count 2 to a one-item read": _item_count_2, "a write's function code": _write_function,
         "one data byte fewer than asked": _one_byte_short}


@pytest.mark.parametrize("mangle", FORMS.values(), ids=FORMS.keys())
async def test_an_answer_of_the_wrong_form_is_refused_whole(mangle: Callable[[bytearray], bytearray]) -> None:
    async with _plc(mangle) as port:
        driver = S7Driver(f"127.0.0.1:{port}", 1.0, S7Args())
        try:
            await driver.connect()
            with pytest.raises(BadAnswer, match="does not answer the request") as refused:
                await driver.read(S7Driver.plan(POINTS, S7Args()))
        finally:
            await driver.close()
    assert refused.value.retryable


async def test_an_item_return_code_refuses_the_request_not_the_session() -> None:
    async with _plc(_return_code(0x03)) as port:  # 0x03: access denied
        driver = S7Driver(f"127.0.0.1:{port}", 1.0, S7Args())
        try:
            await driver.connect()
            result = await driver.read(S7Driver.plan(POINTS, S7Args()))
        finally:
            await driver.close()
    assert result.values == {} and all("PLC refused the request" in e for e in result.errors.values())
    assert not DeviceRejected.retryable


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

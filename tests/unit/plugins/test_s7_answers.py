"""S7: an answer whose form does not answer the request is refused whole (the session is opened
again), and an item's return code refuses only that item (stopping while a PLC does not answer:
tests/integration/test_s7_stop.py)."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gateway.core.errors import BadAnswer, DeviceRejected
from gateway.southbound import DataType, Point
from gateway_plugins.s7.driver import S7Args, S7Driver
from gateway_plugins.s7.simserver import S7SimServer
from tests.conftest import free_port

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

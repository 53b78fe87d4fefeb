"""A frame that does not answer the request is no reading: the whole frame is refused, the cycle
fails with one line saying what was wrong, and no value is reported good."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu import bit_message as bits
from pymodbus.pdu import register_message as registers

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.errors import BadAnswer, RequestTimeout
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Point
from gateway_plugins.modbus import frames
from gateway_plugins.modbus.driver import ModbusTcpArgs, ModbusTcpDriver
from tests import hostile_modbus as hostile
from tests.hostile_modbus import HostileModbus, Request

POINTS = [Point(f"v{i}", f"4{10 * i + 1:05d}", DataType.INT) for i in range(4)]

HOSTILE = {
    "function code 4 to a function code 3 request": (hostile.wrong_function, "function code 4 to function code 3"),
    "fewer registers than asked": (hostile.short, "0 register(s) to a read of 1"),
    "another unit id": (hostile.other_unit, "unit 2 to a request to unit 1"),
    "transaction id 0": (hostile.transaction_zero, "transaction id 0 "),
}


@pytest.mark.parametrize("pipeline", [1, 4], ids=["one-at-a-time", "pipelined"])
@pytest.mark.parametrize(("answer", "said"), HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_frame_that_does_not_answer_the_request_is_refused(
        answer: Callable[[Request], bytes], said: str, pipeline: int) -> None:
    async with HostileModbus(answer) as plc:
        args = ModbusTcpArgs(max_gap=0, pipeline=pipeline)
        driver = ModbusTcpDriver(f"127.0.0.1:{plc.port}", 1.0, args)
        try:
            await driver.connect()
            with pytest.raises(BadAnswer, match=re.escape(said)) as refused:
                await driver.read(ModbusTcpDriver.plan(POINTS, args))
        finally:
            await driver.close()
    assert "does not answer the request" in str(refused.value)
    assert refused.value.retryable  # the connection is out of step: it is opened again


async def test_the_hostile_device_checker_is_not_simply_refusing_everything() -> None:
    async with HostileModbus(hostile.correct) as plc:
        args = ModbusTcpArgs(max_gap=0, pipeline=4)
        driver = ModbusTcpDriver(f"127.0.0.1:{plc.port}", 1.0, args)
        try:
            await driver.connect()
            result = await driver.read(ModbusTcpDriver.plan(POINTS, args))
            await driver.write(POINTS[0], 7)
        finally:
            await driver.close()
    assert result.values == {p.name: 10 * i for i, p in enumerate(POINTS)}


def _poller(port: int) -> tuple[ControllerPoller, LatestValues]:
    controller = Controller(name="PLC1", protocol="modbus-tcp", endpoint=f"127.0.0.1:{port}", timeout=1.0)
    measures = [Measure(name=p.name, controller="PLC1", group="g", address=p.address, type="INT") for p in POINTS]
    latest = LatestValues()
    driver = ModbusTcpDriver(controller.endpoint, controller.timeout, ModbusTcpArgs(max_gap=0))
    return ControllerPoller(controller, measures, driver, latest), latest


async def test_a_bad_frame_fails_the_cycle_and_reports_no_value_good(caplog: pytest.LogCaptureFixture) -> None:
    async with HostileModbus(hostile.correct) as plc:
        poller, latest = _poller(plc.port)
        try:
            assert await poller.poll_once()
            plc.answer = hostile.wrong_function
            for _ in range(3):
                assert not await poller.poll_once()
        finally:
            await poller.driver.close()
    assert poller.health.healthy is False and poller.health.consecutive_failures == 3
    assert all(latest.get("PLC1", p.name).status == 0 for p in POINTS)
    assert latest.get("PLC1", "v1").value == 10  # the last good reading, not the wrong frame's
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "function code 4 to function code 3" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno >= 30]


def _answer(pdu_class: type, **fields: object) -> object:
    answer = pdu_class(dev_id=1, transaction_id=9)
    for name, value in fields.items():
        setattr(answer, name, value)
    return answer


WRITES = {
    "FC6 echo of another value": (frames.write_registers_request(5, [7], 1, single=True),
                                  _answer(registers.WriteSingleRegisterResponse, address=5, registers=[8]),
                                  "echoing 8"),
    "FC16 answer for another address": (frames.write_registers_request(5, [7, 8], 1, single=False),
                                        _answer(registers.WriteMultipleRegistersResponse, address=6, count=2),
                                        "address 6 to a write at 5"),
    "FC15 answer for fewer coils": (frames.write_coils_request(5, [True, False], 1, single=False),
                                    _answer(bits.WriteMultipleCoilsResponse, address=5, count=1), "1 value(s)"),
    "exception answer to another function": (frames.write_coils_request(5, [True], 1, single=True),
                                             _answer(type("E", (bits.WriteSingleCoilResponse,),
                                                          {"function_code": 0x86})),
                                             "function code 6 to function code 5"),
    "a right echo": (frames.write_registers_request(5, [7], 1, single=True),
                     _answer(registers.WriteSingleRegisterResponse, address=5, registers=[7]), None),
}


@pytest.mark.parametrize(("request_", "answer", "said"), WRITES.values(), ids=WRITES.keys())
def test_a_write_answer_echoes_what_was_written(request_: ModbusPDU, answer: ModbusPDU, said: str | None) -> None:
    request_.transaction_id = 9
    wrong = frames.mismatch(request_, answer)
    assert wrong == said if said is None else said in (wrong or "")


async def test_a_device_that_never_answers_times_out_and_a_late_answer_is_not_taken() -> None:
    answers = [b""]  # the first request gets nothing; the later ones their right answer

    def late(request: Request) -> bytes:
        return answers.pop() if answers else hostile.correct(request)

    async with HostileModbus(late) as plc:
        args = ModbusTcpArgs(max_gap=0)
        driver = ModbusTcpDriver(f"127.0.0.1:{plc.port}", 0.3, args)
        try:
            await driver.connect()
            with pytest.raises(RequestTimeout):
                await driver.read(ModbusTcpDriver.plan(POINTS[:1], args))
            result = await driver.read(ModbusTcpDriver.plan(POINTS[1:2], args))
        finally:
            await driver.close()
    assert result.values == {"v1": 10}

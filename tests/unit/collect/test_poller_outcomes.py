"""The poller's answer to each kind of device failure, on a fake clock: whether the connection is
dropped, what health and the values say, what is logged, and how long it waits before the next
cycle. The driver plays back a script of answers; the clock only records the sleeps."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.collect import ControllerPoller
from gateway.collect.poller import DEGRADE_AFTER
from gateway.config.schema import Controller, Measure
from gateway.core.backoff import Backoff
from gateway.core.clock import Clock
from gateway.core.errors import BadAnswer, ConnectError, DeviceRejected, IllegalAddress, RequestTimeout
from gateway.core.latest import LatestValues
from gateway.southbound import Driver, DriverArgs, Point, ReadPlan, ReadResult

GOOD = {"Temp": 21.5, "Speed": 7}


class _Plan(ReadPlan):
    request_count = 1


class ScriptedDriver(Driver):
    """Answers each read with the next entry of ``answers``: a values dict, a ReadResult or an exception."""

    protocol = "scripted"

    def __init__(self, answers: Sequence[Any]) -> None:
        super().__init__("scripted", 1.0, DriverArgs())
        self.answers = list(answers)
        self.connects = self.closes = 0
        self._connected = False

    @classmethod
    def check_point(cls, point: Point, args: DriverArgs) -> None:
        """Every address is fine."""

    @classmethod
    def plan(cls, points: Sequence[Point], args: DriverArgs) -> ReadPlan:
        return _Plan()

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self.connects += 1
        self._connected = True

    async def read(self, plan: ReadPlan) -> ReadResult:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer if isinstance(answer, ReadResult) else ReadResult(values=dict(answer))

    async def write(self, point: Point, value: Any) -> None:
        """Not used here."""

    async def close(self) -> None:
        self.closes += 1
        self._connected = False


@dataclass
class FakeClock:
    """Time that moves only when the poller sleeps; every sleep is recorded."""

    time: float = 1_700_000_000.0
    sleeps: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        await asyncio.sleep(0)

    def clock(self) -> Clock:
        return Clock(now=lambda: self.time, monotonic=lambda: self.time, sleep=self.sleep)


def _poller(answers: Sequence[Any], clock: FakeClock) -> tuple[ControllerPoller, ScriptedDriver, LatestValues]:
    controller = Controller(name="PLC", protocol="scripted", endpoint="scripted", sample_period=2.0)
    measures = [Measure(name="Temp", controller="PLC", group="g", address="1", type="FLOAT"),
                Measure(name="Speed", controller="PLC", group="g", address="2", type="INT")]
    driver, latest = ScriptedDriver(answers), LatestValues()
    backoff = Backoff(base=1.0, cap=60.0, _random=random.Random(7))
    return ControllerPoller(controller, measures, driver, latest, clock=clock.clock(), backoff=backoff), driver, latest


# what a failing cycle does, by what the device did
OUTCOMES = [
    # failure,                                          connection dropped, the error every value shows
    (ConnectError("cannot connect to 10.0.0.9:502"), True, "cannot connect to 10.0.0.9:502"),
    (RequestTimeout("no answer in 1 s"), True, "no answer in 1 s"),
    (BadAnswer("answer with function code 4 to function code 3"), True,
     "answer with function code 4 to function code 3"),
    (DeviceRejected("device answered exception 6 (device busy)"), False, "device answered exception 6 (device busy)"),
    (IllegalAddress("device answered exception 2 (illegal data address)"), False,
     "device answered exception 2 (illegal data address)"),
    (RuntimeError("a bug in the driver"), True, "internal error: RuntimeError('a bug in the driver')"),
]


@pytest.mark.parametrize(("failure", "dropped", "error"), OUTCOMES, ids=[type(o[0]).__name__ for o in OUTCOMES])
async def test_a_failed_cycle_keeps_the_last_good_values_and_says_why(
        failure: Exception, dropped: bool, error: str, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    poller, driver, latest = _poller([GOOD, failure, failure, GOOD], clock)
    assert await poller.poll_once()
    with caplog.at_level(logging.DEBUG, "gateway.collect"):
        assert not await poller.poll_once()
        assert not await poller.poll_once()
    assert (driver.closes, driver.connects) == ((2, 2) if dropped else (0, 1))  # reopened for each cycle
    temp = latest.get("PLC", "Temp")
    assert (temp.value, temp.status, temp.error) == (21.5, 0, error)
    assert (poller.health.healthy, poller.health.last_error, poller.health.consecutive_failures) == (False, error, 2)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum(error in line for line in errors) == 1  # said once, on the change; repeats go to DEBUG
    # a driver bug is logged with its traceback at every cycle besides, so that it gets reported
    assert len(errors) == (3 if isinstance(failure, RuntimeError) else 1)
    assert await poller.poll_once()
    assert poller.health.healthy and latest.get("PLC", "Temp").status == 1


@pytest.mark.parametrize(("answer", "healthy", "temp", "speed"), [
    (ReadResult(values={"Temp": 1.0}, errors={"Speed": "device answered exception 2"}), True,
     (1.0, 1, ""), (7, 0, "device answered exception 2")),
    (ReadResult(errors={"Temp": "exception 4", "Speed": "exception 4"}), False,
     (21.5, 0, "exception 4"), (7, 0, "exception 4")),
])
async def test_answers_for_some_points_only(answer: ReadResult, healthy: bool, temp: tuple[Any, ...],
                                            speed: tuple[Any, ...]) -> None:
    """Values for some points: a healthy cycle with those points failed; for none: no healthy PLC."""
    poller, driver, latest = _poller([GOOD, answer], FakeClock())
    await poller.poll_once()
    assert await poller.poll_once() is healthy
    assert driver.closes == 0  # it answered: the connection is fine
    for name, expected in (("Temp", temp), ("Speed", speed)):
        reading = latest.get("PLC", name)
        assert (reading.value, reading.status, reading.error) == expected


async def test_the_schedule_keeps_the_period_and_backs_off_while_failing_then_returns() -> None:
    clock = FakeClock()
    failures = [ConnectError("down")] * (DEGRADE_AFTER + 2)
    poller, _driver, _latest = _poller([GOOD, *failures, GOOD, GOOD], clock)
    task = asyncio.create_task(poller.run())
    for _ in range(10_000):  # the fake clock lets the poller run at once: a bounded number of yields
        if len(clock.sleeps) >= len(failures) + 4 or task.done():
            break
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # cancellation propagates out of run()
        await task
    start, good, *backing_off, recovered, again = clock.sleeps[:len(failures) + 4]
    assert (start, good) == (0.0, 2.0)
    assert all(delay >= 2.0 for delay in backing_off)  # never faster than the sample period
    assert max(backing_off) > 2.0  # and slower once the backoff grows past it
    assert (recovered, again) == (2.0, 2.0)
    assert poller.health.degraded is False and poller.health.healthy

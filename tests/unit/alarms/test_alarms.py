"""Alarm rules and the engine: Device Supervisor's operators, hysteresis and delay, stale reads,
the alarm log across restarts, and what reaches the publish rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.alarms import AlarmEngine, AlarmState, condition_holds
from gateway.config.schema import Alarm, Measure
from gateway.core.clock import Clock
from gateway.core.latest import LatestValues
from gateway.store.alarm_log import AlarmLog

MEASURES = [Measure(name="Temp", controller="PLC1", group="g", address="40001", type="FLOAT")]


def rule(**changes: Any) -> Alarm:
    base: dict[str, Any] = {"name": "High", "measure": "Temp", "level": 4, "content": "too hot",
                            "cond1": {"op": "gt", "value": 80}}
    return Alarm.model_validate({**base, **changes})


@pytest.mark.parametrize(("op", "value", "holds"), [
    ("gt", 80.1, True), ("gt", 80, False), ("egt", 80, True), ("lt", 79.9, True), ("lt", 80, False),
    ("elt", 80, True), ("eq", 80, True), ("eq", 80.5, False), ("neq", 80.5, True), ("neq", 80, False),
])
def test_operators(op: str, value: float, holds: bool) -> None:
    assert condition_holds(rule(cond1={"op": op, "value": 80}), value) is holds


@pytest.mark.parametrize(("combine", "value", "holds"), [
    ("and", 50, True), ("and", 95, False), ("or", 95, True), ("or", 5, True), ("or", 50, False), ("none", 95, True),
])
def test_two_conditions_combined(combine: str, value: float, holds: bool) -> None:
    band = rule(cond1={"op": "gt", "value": 10}, combine=combine, cond2={"op": "lt", "value": 90})
    if combine == "or":
        band = rule(cond1={"op": "gt", "value": 90}, combine="or", cond2={"op": "lt", "value": 10})
    assert condition_holds(band, value) is holds


def test_hysteresis_keeps_an_active_alarm_until_the_value_is_clearly_back() -> None:
    hot = rule(hysteresis=2)
    assert condition_holds(hot, 79, active=True) is True  # within 2 of the threshold: still raised
    assert condition_holds(hot, 77.9, active=True) is False
    assert condition_holds(hot, 79, active=False) is False  # raising needs the threshold itself


def test_delay_needs_the_change_to_last() -> None:
    state = AlarmState()
    assert state.update(True, now=0, delay=5) is False
    assert state.update(True, now=4, delay=5) is False
    assert state.update(False, now=4.5, delay=5) is False  # back to normal: the pending raise is forgotten
    assert state.update(True, now=6, delay=5) is False
    assert state.update(True, now=11, delay=5) is True and state.active


class Harness:
    """An engine with a clock the test moves, a real alarm log, and the deliveries it made."""

    def __init__(self, tmp_path: Path) -> None:
        self.now = 1_700_000_000.0
        self.clock = Clock(now=lambda: self.now, monotonic=lambda: self.now)
        self.latest = LatestValues()
        self.delivered: list[tuple[dict[str, Any], str]] = []
        self.path = tmp_path / "alarms.db"

    async def engine(self, *rules: Alarm) -> tuple[AlarmEngine, AlarmLog]:
        alarm_log = await AlarmLog.open(self.path, 100)

        async def deliver(alarm: dict[str, Any], label: str) -> None:
            self.delivered.append((alarm, label))
        engine = AlarmEngine(list(rules), MEASURES, self.latest, alarm_log, deliver, clock=self.clock)
        await engine.restore()
        return engine, alarm_log

    def read(self, value: float | None, ok: bool = True) -> None:
        self.now += 1
        if ok:
            self.latest.set_good("PLC1", "Temp", value, self.now)
        else:
            self.latest.set_failed("PLC1", "Temp", "timeout", self.now)


async def test_raise_and_clear_are_published_in_the_alarm_dict_and_logged(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    engine, alarm_log = await harness.engine(rule(label="boiler"))
    try:
        for value in (70, 85, 86, 75):
            harness.read(value)
            await engine.evaluate()
        raised, cleared = harness.delivered
        assert raised == ({"timestamp": harness.now - 2, "group_name": "boiler", "values": {"High": {
            "timestamp": int(harness.now - 2), "current": "on", "status": 0, "value": 85.0,
            "alarm_content": "too hot", "level": 4, "ctrlName": "PLC1", "measureName": "Temp", "alarm_value": 85.0}}},
            "boiler")
        assert cleared[0]["values"]["High"]["current"] == "off" and cleared[0]["values"]["High"]["status"] == 1
        assert (cleared[0]["values"]["High"]["value"], cleared[0]["values"]["High"]["alarm_value"]) == (75.0, 85.0)
        history = await alarm_log.history()
        assert [(e["name"], e["current"], e["level_name"]) for e in history] == [("High", "off", "Major"),
                                                                                 ("High", "on", "Major")]
        assert await alarm_log.active() == {}
    finally:
        await alarm_log.close()


async def test_failed_reads_neither_raise_nor_clear(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    engine, alarm_log = await harness.engine(rule())
    try:
        harness.read(90)
        await engine.evaluate()
        harness.latest.set_good("PLC1", "Temp", 10, harness.now)  # then the PLC stops answering...
        harness.read(None, ok=False)  # ...the last value (10) is stale
        await engine.evaluate()
        assert engine.active == ["High"] and len(harness.delivered) == 1
    finally:
        await alarm_log.close()


async def test_active_alarms_survive_a_restart_without_a_second_raise(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    engine, alarm_log = await harness.engine(rule())
    harness.read(90)
    await engine.evaluate()
    await alarm_log.close()
    engine, alarm_log = await harness.engine(rule())
    try:
        assert engine.active == ["High"]
        harness.read(95)
        await engine.evaluate()
        assert len(harness.delivered) == 1  # still the one raise
        harness.read(20)
        await engine.evaluate()
        assert harness.delivered[-1][0]["values"]["High"]["current"] == "off"
    finally:
        await alarm_log.close()


async def test_a_removed_rule_leaves_no_active_alarm(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    engine, alarm_log = await harness.engine(rule())
    harness.read(90)
    await engine.evaluate()
    await alarm_log.close()
    engine, alarm_log = await harness.engine()
    try:
        assert await alarm_log.active() == {}
        assert (await alarm_log.history())[0]["alarm_content"] == "rule removed"
    finally:
        await alarm_log.close()


async def test_the_alarm_log_keeps_max_alarm_records(tmp_path: Path) -> None:
    alarm_log = await AlarmLog.open(tmp_path / "a.db", 10)
    try:
        for i in range(25):
            await alarm_log.raised("A", {"timestamp": float(i), "n": i})
        history = await alarm_log.history()
        assert len(history) == 10 and history[0]["n"] == 24 and history[-1]["n"] == 15
    finally:
        await alarm_log.close()


async def test_a_flapping_value_with_hysteresis_raises_once(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    engine, alarm_log = await harness.engine(rule(hysteresis=3))
    try:
        for value in (81, 79, 81, 78.5, 80.5, 79.5, 81):
            harness.read(value)
            await engine.evaluate()
        assert len(harness.delivered) == 1 and engine.active == ["High"]
    finally:
        await alarm_log.close()

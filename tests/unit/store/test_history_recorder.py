"""HistoryRecorder: each upload interval it stores the group's readings that are new and good,
once each, and a failing store costs one interval, not the recorder."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gateway.config.schema import Group, Measure
from gateway.core.clock import Clock
from gateway.core.latest import LatestValues
from gateway.core.source import Quality, SourceStamp
from gateway.store.history import HistoryStore
from gateway.store.history_recorder import HistoryRecorder
from tests.unit.store.test_failed_writes import poison_inserts

T0 = 1_700_000_000.0
GROUP = Group(name="g", upload_interval=5, history=True)
MEASURES = [Measure(name=name, controller="PLC", group="g", address="1", type="FLOAT") for name in ("Temp", "Flow")]


async def _samples(store: HistoryStore, measure: str) -> list[tuple[float, float]]:
    return [(ts, value) for ts, value, _source in await store.raw("PLC", measure, T0 - 1, T0 + 100)]


async def test_only_new_good_readings_are_stored_and_each_once(tmp_path: Path) -> None:
    latest = LatestValues()
    store = await HistoryStore.open(tmp_path / "history.db")
    recorder = HistoryRecorder(GROUP, MEASURES, latest, store)
    try:
        latest.set_good("PLC", "Temp", 20.5, T0)
        latest.set_failed("PLC", "Flow", "timeout", T0)  # never read: nothing to store
        assert await recorder.record_once() == 1
        assert await recorder.record_once() == 0  # nothing new since
        latest.set_good("PLC", "Flow", 3.0, T0 + 5)
        latest.set_failed("PLC", "Temp", "timeout", T0 + 5)  # the last good value with status 0: not stored again
        assert await recorder.record_once() == 1
        latest.set_good("PLC", "Temp", 21.0, T0 + 10)
        assert await recorder.record_once() == 1
        temp, flow = await _samples(store, "Temp"), await _samples(store, "Flow")
    finally:
        await store.close()
    assert temp == [(T0, 20.5), (T0 + 10, 21.0)] and flow == [(T0 + 5, 3.0)]


async def test_a_failing_store_costs_one_interval_and_the_recorder_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    latest = LatestValues()
    path = tmp_path / "history.db"
    await (await HistoryStore.open(path)).close()
    store = await HistoryStore.open(path)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        latest.set_good("PLC", "Temp", 666.0 if len(sleeps) == 2 else float(len(sleeps)), T0 + len(sleeps))
        if len(sleeps) > 3:
            raise asyncio.CancelledError
        await asyncio.sleep(0)

    recorder = HistoryRecorder(GROUP, MEASURES[:1], latest, store, clock=Clock(now=lambda: T0, sleep=sleep))
    poison_inserts(path, "samples", "value")
    try:
        with caplog.at_level(logging.ERROR, "gateway.history"), pytest.raises(asyncio.CancelledError):
            await recorder.run()
        samples = await _samples(store, "Temp")
    finally:
        await store.close()
    assert sleeps == [5, 5, 5, 5]  # every upload_interval
    assert samples == [(T0 + 1, 1.0), (T0 + 3, 3.0)]
    assert "group g: history not written:" in caplog.text


async def test_the_devices_own_time_of_a_value_is_recorded_next_to_ours(tmp_path: Path) -> None:
    latest = LatestValues()
    store = await HistoryStore.open(tmp_path / "history.db")
    try:
        readings = latest.readings_of("PLC", ["Temp"])
        latest.record_good({"Temp": 20.5}, readings, T0, {"Temp": SourceStamp(T0 - 2.5, Quality.UNCERTAIN)})
        assert await HistoryRecorder(GROUP, MEASURES, latest, store).record_once() == 1
        assert await store.raw("PLC", "Temp", T0 - 10, T0 + 10) == [(T0, 20.5, T0 - 2.5)]
    finally:
        await store.close()

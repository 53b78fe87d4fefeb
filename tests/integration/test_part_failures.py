"""One part's fault stops only that part, and only for a moment: the supervisor logs it once and
starts it again, while the others keep collecting and publishing."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.alarms import AlarmEngine
from gateway.collect import ControllerPoller
from gateway.core.errors import StoreError
from gateway.demo.broker import MosquittoBroker
from gateway.rules.uploader import GroupUploader
from gateway.store import Outbox
from gateway.store.history import HistoryStore
from gateway.store.history_recorder import HistoryRecorder
from tests.conftest import Subscriber
from tests.integration.gateway_harness import running_gateway, script_rule, simulated_gateway, write_config
from tests.waiting import until

UPLOAD = "def main(data, api):\n    return data['values']\n"


def _fails_once(original: Callable[..., Any], error: Exception, calls: list[int]) -> Callable[..., Any]:
    async def first_call_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(0.3)
            raise error
        return await original(*args, **kwargs)
    return first_call_fails


PARTS = {  # the part, the method its fault comes from, the fault
    "poll:Sim": (ControllerPoller, "run", RuntimeError("a driver bug")),
    "upload:g": (GroupUploader, "run", StoreError("cannot store 1 message(s): disk I/O error")),
    "history:g": (HistoryRecorder, "run", sqlite3.OperationalError("database is locked")),
    "alarms": (AlarmEngine, "run", StoreError("cannot write the alarm log: disk full")),
    "outbox-acks": (Outbox, "run_ack_flusher", sqlite3.OperationalError("disk I/O error")),
}


@pytest.mark.parametrize(("owner", "method", "fault"), PARTS.values(), ids=PARTS.keys())
async def test_a_failed_part_restarts_and_the_others_keep_going(
        tmp_path: Path, broker: MosquittoBroker, subscribe: type[Subscriber], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, owner: type, method: str, fault: Exception) -> None:
    name = next(key for key, value in PARTS.items() if value[0] is owner)
    calls: list[int] = []
    monkeypatch.setattr(owner, method, _fails_once(getattr(owner, method), fault, calls))
    config = simulated_gateway("faults", broker.port, [script_rule("up", "plant/data", "upload.py")], history=True)
    config["alarms"] = [{"name": "Alive", "measure": "L", "level": 1, "content": "read", "cond1": {"op": "gt",
                                                                                             "value": -1e9}}]
    path = write_config(tmp_path, config, {"upload.py": UPLOAD})
    subscriber = subscribe("plant/data")
    async with running_gateway(path) as gateway:
        await until(lambda: len(calls) >= 2, f"{name} to be started again", 5)
        subscriber.drain()
        message = await asyncio.to_thread(subscriber.get, 10)  # published after the fault
        reading = gateway.latest.get("Sim", "L")
        first = reading.timestamp
        await asyncio.sleep(0.3)
        assert gateway.latest.get("Sim", "L").timestamp > first  # still collecting
        assert name in gateway.part_failures and str(fault) in gateway.part_failures[name]
    assert "L" in json.loads(message.payload)["Sim"]
    failures = [r for r in caplog.records if r.name == "gateway.supervisor" and r.levelno >= logging.ERROR]
    assert len(failures) == 1 and name in failures[0].getMessage()


async def test_a_history_store_error_in_looking_up_a_series_is_no_crash(
        tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(HistoryStore, "_series_id",
                        _fails_once(HistoryStore._series_id, sqlite3.OperationalError("database is locked"), calls))
    config = simulated_gateway("faults", broker.port, [script_rule("up", "plant/data", "upload.py")], history=True)
    path = write_config(tmp_path, config, {"upload.py": UPLOAD})
    async with running_gateway(path) as gateway:
        assert gateway.history is not None
        for _ in range(100):
            if await gateway.history.measures():
                break
            await asyncio.sleep(0.05)
        assert len(calls) >= 2 and "history:g" not in gateway.part_failures  # handled where it happened

"""SubscriptionDispatcher, FunctionScheduler and WriteApplier against the real worker, a SQLite
outbox and a simulated PLC: what a cloud message or a custom function asks for is committed and
written, callbacks see the per-value results, and bad input is dropped with a count."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from gateway.rules import subscriptions
from gateway.rules.functions import FunctionScheduler
from gateway.rules.subscriptions import SubscriptionDispatcher
from tests.unit.rules.conftest import Stage, running_stage
from tests.waiting import until

SETPOINT = ("import json\n"
            "def main(topic, payload, api):\n"
            "    values = json.loads(payload)\n"
            "    api.write_plc_values(values, callback=done, tail=topic)\n"
            "def done(results, tail, api):\n"
            "    api.awsiot_publish('ack', {'on': tail, 'results': [[r['var_name'], r['result'], r['error']]"
            " for r in results]}, 1)\n")


def _dispatcher(stage: Stage) -> SubscriptionDispatcher:
    return SubscriptionDispatcher(stage.config, stage.runner, stage.writes, stage.variables, stage.parameters)


@contextlib.asynccontextmanager
async def _dispatching(stage: Stage):  # type: ignore[no-untyped-def]
    dispatcher = _dispatcher(stage)
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_message_is_written_to_the_plc_and_the_callback_publishes_the_results(tmp_path: Path) -> None:
    rule = {"name": "setpoints", "cloud": "default", "topic": "cmd/${site}/#", "function": "main", "script": SETPOINT}
    async with running_stage(tmp_path, subscribe=[rule]) as stage, _dispatching(stage) as dispatcher:
        assert dispatcher.subscriptions("default") == [("cmd/test/#", 0)]
        assert dispatcher.subscriptions("other") == []
        dispatcher.receive("default", "cmd/test/line1", b'{"SP": 12.5, "Level": 1, "Nope": 2}')
        dispatcher.receive("default", "elsewhere/x", b'{"SP": 99}')  # matches no rule
        dispatcher.receive("other", "cmd/test/line1", b'{"SP": 99}')  # another cloud's message
        await until(lambda: stage.outbox.depth >= 1, "the callback's acknowledgement")
        committed = await stage.committed()
        await stage.pollers[0].poll_once()
        assert stage.plc_value("SP") == 12.5
    assert committed == [("ack", {"on": "cmd/test/line1", "results": [
        ["SP", "OK", ""], ["Level", "Failed", "'Level' is read-only (access: ro)"],
        ["Nope", "Failed", "unknown measure 'Nope'"]]})]


async def test_a_message_too_large_for_any_setpoint_is_dropped_on_arrival(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rule = {"name": "setpoints", "cloud": "default", "topic": "cmd", "function": "main", "script": SETPOINT}
    async with running_stage(tmp_path, subscribe=[rule]) as stage, _dispatching(stage) as dispatcher:
        with caplog.at_level(logging.WARNING, "gateway.subscribe"):
            dispatcher.receive("default", "cmd", b" " * (subscriptions.MAX_MESSAGE_BYTES + 1))
        dispatcher.receive("default", "cmd", b'{"SP": 3}')
        await until(lambda: stage.outbox.depth >= 1, "the second message's acknowledgement")
        assert dispatcher.dropped == 1
        assert stage.runner.calls["subscribe:setpoints"] == 1  # the large one never reached the script
    assert "dropped a message of 1048577 bytes on cmd" in caplog.text


async def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscriptions, "QUEUE_SIZE", 2)
    rule = {"name": "setpoints", "cloud": "default", "topic": "cmd", "function": "main", "script": SETPOINT}
    async with running_stage(tmp_path, subscribe=[rule]) as stage:
        dispatcher = _dispatcher(stage)  # not running: nothing leaves the queue
        for value in range(5):
            dispatcher.receive("default", "cmd", f'{{"SP": {value}}}'.encode())
        assert dispatcher.dropped == 3


async def test_a_startup_function_runs_once_and_a_periodic_one_keeps_its_schedule_through_failures(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    functions = [
        {"name": "hello", "mode": "startup", "script": "def main(api):\n    api.awsiot_publish('hello', 'up', 1)\n",
         "cloud": "default", "topic": "fn"},
        {"name": "tick", "mode": "periodic", "period": 0.05, "cloud": "default", "topic": "fn",
         "script": "def main(api):\n    api.awsiot_publish('tick', 'beat', 1)\n    raise ValueError('odd')\n"},
    ]
    async with running_stage(tmp_path, functions=functions) as stage:
        schedulers = [FunctionScheduler(f, stage.config, stage.runner, stage.writes, stage.parameters)
                      for f in stage.config.model.functions]
        with caplog.at_level(logging.ERROR, "gateway.functions"):
            startup = asyncio.create_task(schedulers[0].run())
            periodic = asyncio.create_task(schedulers[1].run())
            await asyncio.wait_for(startup, 10)  # a startup function returns after its one call
            await until(lambda: stage.runner.calls["function:tick"] >= 3, "three calls of the periodic function")
            periodic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await periodic
        committed = await stage.committed()
    assert committed == [("hello", "up")]  # a failing call publishes nothing
    assert caplog.text.count("function tick failed: line 3: ValueError: odd") >= 3

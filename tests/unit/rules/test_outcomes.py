"""WriteApplier.settle, the one way a script call's results take effect: messages committed first,
then writes; a failed call changes nothing; a store that fails loses the messages, not the writes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.core.messages import CallContext, OutgoingMessage, WriteRequest
from gateway.scripting import CallOutcome
from tests.unit.rules.conftest import running_stage
from tests.unit.store.test_failed_writes import poison_inserts

CONTEXT = CallContext("rule", "default", "t", 1)


def _outcome(payload: bytes, error: str | None = None) -> CallOutcome:
    return CallOutcome([OutgoingMessage("default", "t", payload, 1)], [WriteRequest({"Sim": {"SP": 3.0}})],
                       error=error)


async def test_a_call_settles_its_messages_then_its_writes(tmp_path: Path) -> None:
    async with running_stage(tmp_path) as stage:
        await stage.writes.settle(_outcome(b"ok"), CONTEXT)
        await stage.pollers[0].poll_once()
        assert (await stage.committed(), stage.plc_value("SP")) == ([("t", "ok")], 3.0)


async def test_a_failed_call_changes_nothing(tmp_path: Path) -> None:
    async with running_stage(tmp_path) as stage:
        await stage.writes.settle(_outcome(b"ok", error="line 2: KeyError: 'x'"), CONTEXT)
        await stage.pollers[0].poll_once()
        assert await stage.committed() == [] and stage.plc_value("SP") != 3.0  # still the simulator's ramp


async def test_a_store_that_fails_loses_the_messages_and_says_so_but_the_writes_are_made(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running_stage(tmp_path) as stage:
        poison_inserts(tmp_path / "outbox.db", "outbox", "payload")
        with caplog.at_level(logging.ERROR, "gateway.scripts"):
            await stage.writes.settle(_outcome(b"666"), CONTEXT)
        await stage.pollers[0].poll_once()
        assert (await stage.committed(), stage.plc_value("SP")) == ([], 3.0)
    assert "rule: 1 message(s) could not be stored: cannot store 1 message(s)" in caplog.text

"""ShadowSync on its own: what it reports, how it applies desired changes, and how it answers the
shadow service's rejections, against a simulated PLC and a SQLite outbox (what it sends is read
back from the outbox, where the connector would take it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.cloud.shadow import ShadowSync
from tests.unit.rules.conftest import Stage, running_stage
from tests.waiting import until

BASE = "$aws/things/pump-7/shadow"
CLOUD = {"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": 1883, "client_id": "pump-7",
         "shadow": {"measures": ["Level", "SP"], "interval": 0.05}}


@contextlib.asynccontextmanager
async def _shadow(tmp_path: Path) -> AsyncIterator[tuple[Stage, ShadowSync]]:
    async with running_stage(tmp_path, clouds=[CLOUD]) as stage:
        cloud = stage.config.model.clouds[0]
        shadow = ShadowSync(cloud, stage.config.model.measures, stage.latest, stage.writes.writer, stage.outbox)
        task = asyncio.create_task(shadow.run())
        try:
            yield stage, shadow
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _sent(stage: Stage, after: int) -> list[tuple[str, dict[str, Any]]]:
    """What the shadow sent after the first ``after`` messages, once it sent something."""
    await until(lambda: stage.outbox.depth > after, "a shadow message")
    await asyncio.sleep(0.1)  # and whatever else the same step sends
    return [(topic.removeprefix(BASE + "/"), body) for topic, body in (await stage.committed())[after:]]


def _without_token(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "clientToken"}


async def test_it_reports_good_values_once_and_then_only_changes(tmp_path: Path) -> None:
    async with _shadow(tmp_path) as (stage, shadow):
        assert shadow.subscriptions()[0] == (f"{BASE}/update/delta", 1) and shadow.owns(f"{BASE}/get/accepted")
        first = await _sent(stage, 0)
        level, sp = stage.plc_value("Level"), stage.plc_value("SP")
        assert [(kind, _without_token(body)) for kind, body in first] == [
            ("update", {"state": {"reported": {"Level": level, "SP": sp}}})]
        await stage.writes.writer.apply({"SP": 5.0})
        await stage.pollers[0].poll_once()
        changed = await _sent(stage, 1)
    assert ("update", {"state": {"reported": {"SP": 5.0, **(
        {"Level": stage.plc_value("Level")} if stage.plc_value("Level") != level else {})}}}) == (
        changed[0][0], _without_token(changed[0][1]))


@pytest.mark.parametrize(("response", "body", "expected_sp", "expected_sent", "log"), [
    ("update/delta", {"version": 4, "state": {"SP": 9.5}}, 9.5, [("update", ["SP"])], "shadow wrote SP=9.5"),
    ("update/delta", {"version": 4, "state": {"Level": 1.0}}, None, [],
     "shadow asks to change Level, which are not writable measures of the shadow"),
    ("update/delta", {"version": 4, "state": {"SP": "a lot"}}, None, [], "shadow change of SP refused"),
    # the fetched shadow has nothing reported: Level is reported again, SP with its written value
    ("get/accepted", {"version": 7, "state": {"reported": {}, "delta": {"SP": 2.5}}}, 2.5,
     [("update", ["SP"]), ("update", ["Level"])], "shadow wrote SP=2.5"),
    ("update/rejected", {"code": 409, "message": "Version conflict"}, None, [("get", []), ("update", ["Level", "SP"])],
     "shadow version conflict; fetching it again"),
    ("update/rejected", {"code": 413, "message": "too big"}, None, [], "shadow update too large for AWS IoT (too big)"),
    ("update/rejected", {"code": 429, "message": "slow down"}, None, [], "shadow updates throttled; pausing 5 s"),
])
async def test_a_shadow_response_is_answered_as_the_service_expects(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, response: str, body: dict[str, Any],
        expected_sp: float | None, expected_sent: list[tuple[str, list[str]]], log: str) -> None:
    """A write is reported with the written value, and not undone by the reading from before it
    (the next poll has not happened yet here); a 409 fetches and reports everything again."""
    async with _shadow(tmp_path) as (stage, shadow):
        await _sent(stage, 0)  # the first report
        with caplog.at_level(logging.INFO, "gateway.shadow"):
            shadow.receive(f"{BASE}/{response}", json.dumps(body).encode())
            await until(lambda: log in caplog.text, log)
            await asyncio.sleep(0.3)  # several report intervals
        sent = [(topic.removeprefix(BASE + "/"), b) for topic, b in (await stage.committed())[1:]]
        await stage.pollers[0].poll_once()
        sp = stage.plc_value("SP")
    assert [(kind, sorted(b.get("state", {}).get("reported", {}))) for kind, b in sent] == expected_sent
    if expected_sp is not None:
        assert sent[0][1]["state"]["reported"]["SP"] == sp == expected_sp


async def test_a_delta_older_than_the_last_one_applied_is_ignored(tmp_path: Path) -> None:
    async with _shadow(tmp_path) as (stage, shadow):
        await _sent(stage, 0)
        shadow.receive(f"{BASE}/update/delta", json.dumps({"version": 5, "state": {"SP": 1.5}}).encode())
        await _sent(stage, 1)
        shadow.receive(f"{BASE}/update/delta", json.dumps({"version": 3, "state": {"SP": 8.0}}).encode())
        shadow.receive(f"{BASE}/update/delta", json.dumps({"version": 6, "state": {"SP": 2.0}}).encode())
        await until(lambda: stage.outbox.depth >= 3, "the newer delta's report")
        reported = [body["state"]["reported"] for _, body in (await stage.committed())[1:]]
    assert reported == [{"SP": 1.5}, {"SP": 2.0}]

"""RulePublisher: a group's snapshot goes through every rule of the group, what they publish is
committed together, a failing rule costs only its own messages, and writes follow the commit."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from gateway.rules.publisher import RulePublisher
from gateway.rules.uploader import GroupUploader
from tests.unit.rules.conftest import Stage, running_stage
from tests.unit.store.test_failed_writes import poison_inserts


def _rule(name: str, script: str | None = None, **extra: Any) -> dict[str, Any]:
    rule = {"name": name, "cloud": "default", "topic": f"plant/${{site}}/{name}", "qos": 1, "groups": ["g"], **extra}
    if script is not None:
        rule |= {"function": "main", "script": script}
    return rule


def _publisher(stage: Stage) -> RulePublisher:
    return RulePublisher(stage.config, stage.runner, stage.outbox, stage.writes, stage.variables, stage.parameters)


def _snapshot(stage: Stage) -> Any:
    group = stage.config.model.groups[0]
    return GroupUploader(group, stage.config.model.measures, stage.latest, _publisher(stage).deliver_group).snapshot()


async def test_every_rule_of_the_group_runs_and_a_failing_one_costs_only_its_messages(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = [
        _rule("first", "def main(data, api):\n    api.awsiot_publish('a/1', {'n': 1}, 1)\n    return {'n': 2}\n"),
        _rule("broken", "def main(data, api):\n    api.awsiot_publish('b/1', 'lost', 1)\n    return data['nope']\n"),
        _rule("plain"),  # no script: data_collect itself goes to the rule's topic
        _rule("other-group", "def main(data, api):\n    return 'never'\n", groups=["h"]),
    ]
    async with running_stage(tmp_path, publish=rules, groups=[{"name": "g"}, {"name": "h"}]) as stage:
        publisher = _publisher(stage)
        assert publisher.has_rules("g") and not publisher.has_rules("unknown")
        with caplog.at_level(logging.INFO, "gateway.publish"):
            await publisher.deliver_group(_snapshot(stage))
        committed = await stage.committed()
        level = stage.plc_value("Level")
    assert [topic for topic, _ in committed] == ["a/1", "plant/test/first", "plant/test/plain"]
    assert committed[0][1] == {"n": 1} and committed[1][1] == {"n": 2}
    plain = committed[2][1]
    assert plain["group_name"] == "g"
    assert plain["values"]["Sim"]["Level"]["raw_data"] == level and plain["values"]["Sim"]["Level"]["status"] == 1
    assert "first: g: 2 message(s)" in caplog.text


async def test_writes_a_publish_script_asks_for_are_made_after_its_messages_are_committed(tmp_path: Path) -> None:
    script = ("def main(data, api):\n"
              "    api.write_plc_values({'SP': 42.5})\n"
              "    api.awsiot_publish('done', 'asked', 1)\n")
    async with running_stage(tmp_path, publish=[_rule("writer", script)]) as stage:
        await _publisher(stage).deliver_group(_snapshot(stage))
        assert await stage.committed() == [("done", "asked")]
        await stage.pollers[0].poll_once()
        assert stage.plc_value("SP") == 42.5


async def test_alarm_rules_run_for_their_labels_only(tmp_path: Path) -> None:
    echo = "def main(data, api):\n    return {'alarm': list(data['values'])[0]}\n"
    rules = [_rule("any-label", echo, source="alarm", groups=[]),
             _rule("pumps", echo, source="alarm", groups=[], labels=["pumps"])]
    async with running_stage(tmp_path, publish=rules) as stage:
        publisher = _publisher(stage)
        alarm = {"timestamp": 1.0, "group_name": "alarm", "values": {"High": {"current": "on"}}}
        await publisher.deliver_alarm(alarm, "tanks")
        await publisher.deliver_alarm({**alarm, "values": {"Dry": {"current": "on"}}}, "pumps")
        committed = await stage.committed()
    assert committed == [("plant/test/any-label", {"alarm": "High"}), ("plant/test/any-label", {"alarm": "Dry"}),
                         ("plant/test/pumps", {"alarm": "Dry"})]


async def test_a_failing_outbox_loses_the_cycle_with_one_error_and_the_writes_still_happen(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    script = "def main(data, api):\n    api.write_plc_values({'SP': 7.0})\n    return 'disk full 666'\n"
    async with running_stage(tmp_path, publish=[_rule("w", script)]) as stage:
        snapshot = _snapshot(stage)
        poison_inserts(tmp_path / "outbox.db", "outbox", "payload")
        with caplog.at_level(logging.ERROR, "gateway.publish"):
            await _publisher(stage).deliver_group(snapshot)
        await stage.pollers[0].poll_once()
        assert stage.plc_value("SP") == 7.0
    [error] = [r.getMessage() for r in caplog.records if r.name == "gateway.publish"]
    assert error.endswith("this cycle's messages are lost")

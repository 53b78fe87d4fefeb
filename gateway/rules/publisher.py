"""Turn group snapshots into cloud messages through the publish rules, one commit per cycle."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from gateway.config import GatewayConfig, LoadedConfig, PublishRule
from gateway.config.identity import render_topic
from gateway.core.errors import StoreError
from gateway.core.group_snapshot import GroupSnapshot
from gateway.core.messages import CallContext, OutgoingMessage
from gateway.rules.outcomes import WriteApplier
from gateway.scripting import CallOutcome, ScriptRunner
from gateway.scripting.loading import publish_key
from gateway.store import Outbox

log = logging.getLogger("gateway.publish")

PublishData = GroupSnapshot | dict[str, Any]  # a group's snapshot, or an alarm's data_collect


class RulePublisher:
    """Runs each rule of a group's snapshot and commits all resulting messages together."""

    def __init__(self, config: LoadedConfig, runner: ScriptRunner, outbox: Outbox, writes: WriteApplier,
                 variables: Mapping[str, str], global_parameters: Mapping[str, Any]) -> None:
        self._runner = runner
        self._writes = writes
        self._outbox = outbox
        # A rule's topic, limits and parameters come from the configuration: built once, not per cycle.
        self._rules_by_group: dict[str, list[tuple[PublishRule, CallContext]]] = defaultdict(list)
        self._alarm_rules: list[tuple[PublishRule, CallContext]] = []
        for rule in config.model.publish:
            context = rule_context(rule, config.model, variables, global_parameters)
            if rule.source == "alarm":
                self._alarm_rules.append((rule, context))
                continue
            for group in rule.groups:
                self._rules_by_group[group].append((rule, context))

    def has_rules(self, group: str) -> bool:
        """Return True when some rule uploads ``group``."""
        return bool(self._rules_by_group.get(group))

    async def deliver_group(self, snapshot: GroupSnapshot) -> None:
        """Run the group's rules on ``snapshot``; commit what they publish in one transaction,
        then apply what they asked to write."""
        await self._deliver(self._rules_by_group.get(snapshot.group_name, []), snapshot)

    async def deliver_alarm(self, alarm: dict[str, Any], label: str) -> None:
        """Run the ``source: alarm`` rules whose labels include ``label`` (no labels: every label)."""
        await self._deliver([(rule, context) for rule, context in self._alarm_rules
                             if not rule.labels or label in rule.labels], alarm)

    async def _deliver(self, rules: list[tuple[PublishRule, CallContext]], data: PublishData) -> None:
        async with self._writes.in_flight.running():
            await self._run_and_commit(rules, data)

    async def _run_and_commit(self, rules: list[tuple[PublishRule, CallContext]], data: PublishData) -> None:
        messages: list[OutgoingMessage] = []
        done: list[tuple[CallOutcome, CallContext]] = []
        for rule, context in rules:
            outcome = await self._run_rule(rule, context, data)
            if outcome.error:
                continue
            if outcome.messages and log.isEnabledFor(logging.INFO):
                topics = sorted({m.topic for m in outcome.messages})
                log.info("%s: %s: %d message(s), %d bytes -> %s", rule.name, _group_name(data),
                         len(outcome.messages), sum(len(m.payload) for m in outcome.messages),
                         ", ".join(topics[:3]) + (f" and {len(topics) - 3} more" if len(topics) > 3 else ""))
            messages += outcome.messages
            done.append((outcome, context))
        try:
            await self._outbox.enqueue(messages)
        except StoreError as exc:
            log.error("group %s: %s; this cycle's messages are lost", _group_name(data), exc)
        for outcome, context in done:
            await self._writes.apply(outcome, context)

    async def _run_rule(self, rule: PublishRule, context: CallContext, data: PublishData) -> CallOutcome:
        if not rule.script:
            document = data.data_collect() if isinstance(data, GroupSnapshot) else data
            return CallOutcome(messages=[OutgoingMessage(rule.cloud, context.topic, json.dumps(document).encode(),
                                                         rule.qos)])
        return await self._runner.call_publish(publish_key(rule.name), data, context)


def _group_name(data: PublishData) -> str:
    return data.group_name if isinstance(data, GroupSnapshot) else str(data.get("group_name", ""))


def rule_context(rule: PublishRule, model: GatewayConfig, variables: Mapping[str, str],
                 global_parameters: Mapping[str, Any]) -> CallContext:
    """Return what a call of ``rule``'s script knows of its rule: topic, cloud, limits, parameters."""
    limits = next(cloud.publish_limits for cloud in model.clouds if cloud.name == rule.cloud)
    return CallContext(rule.name, rule.cloud, render_topic(rule.topic, variables), rule.qos,
                       dict(global_parameters), limits)

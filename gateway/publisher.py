"""Turn group snapshots into cloud messages through the publish rules, one commit per cycle."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from gateway.config import LoadedConfig, PublishRule
from gateway.errors import StoreError
from gateway.identity import render_topic
from gateway.scripting import OutgoingMessage, PublishContext, ScriptRunner
from gateway.store import Outbox

log = logging.getLogger("gateway.publish")


class RulePublisher:
    """Runs each rule of a group's snapshot and commits all resulting messages together."""

    def __init__(self, config: LoadedConfig, runner: ScriptRunner, outbox: Outbox,
                 variables: Mapping[str, str], global_parameters: Mapping[str, Any]) -> None:
        self._runner = runner
        self._outbox = outbox
        self._variables = variables
        self._global_parameters = dict(global_parameters)
        self._rules_by_group: dict[str, list[PublishRule]] = defaultdict(list)
        for rule in config.model.publish:
            if rule.source == "group":
                for group in rule.groups:
                    self._rules_by_group[group].append(rule)

    def has_rules(self, group: str) -> bool:
        """Return True when some rule uploads ``group``."""
        return bool(self._rules_by_group.get(group))

    async def deliver_group(self, snapshot: dict[str, Any]) -> None:
        """Run the group's rules on ``snapshot`` and enqueue what they publish in one transaction."""
        messages: list[OutgoingMessage] = []
        for rule in self._rules_by_group.get(snapshot["group_name"], []):
            produced = await self._run_rule(rule, snapshot)
            for message in produced:
                log.info("%s: %s %d bytes qos %d -> %s", rule.name, snapshot["group_name"],
                         len(message.payload), message.qos, message.topic)
            messages += produced
        try:
            await self._outbox.enqueue(messages)
        except StoreError as exc:
            log.error("group %s: %s; this cycle's messages are lost", snapshot["group_name"], exc)

    async def _run_rule(self, rule: PublishRule, snapshot: dict[str, Any]) -> list[OutgoingMessage]:
        topic = render_topic(rule.topic, self._variables)
        if not rule.script:
            return [OutgoingMessage(rule.cloud, topic, json.dumps(snapshot).encode(), rule.qos)]
        context = PublishContext(rule.name, rule.cloud, topic, rule.qos, self._global_parameters)
        outcome = await self._runner.call_publish(rule.name, snapshot, context)
        return [] if outcome.error else outcome.messages

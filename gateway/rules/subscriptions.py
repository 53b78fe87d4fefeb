"""Hand cloud messages to the subscribe scripts and apply what they ask for.

Messages arrive on the event loop from the connectors and wait in a queue bounded by count and by
bytes (overflow is counted and logged, never blocking the network thread); a message larger than
any setpoint needs is dropped on arrival, before it reaches a script. One worker runs the matching rules in
arrival order: their publishes go to the outbox, their ``write_plc_values`` go to the PLCs, and
the callbacks then see the per-value results. Custom functions of ``mode: message`` are called
the same way with each message of their ``trigger_topic``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from paho.mqtt.client import topic_matches_sub

from gateway.config import LoadedConfig, SubscribeRule
from gateway.config.identity import render_topic
from gateway.core.messages import CallContext
from gateway.core.tasks import stop_if_cancelled
from gateway.rules.functions import function_context
from gateway.rules.outcomes import WriteApplier
from gateway.scripting import ScriptRunner
from gateway.scripting.loading import function_key, subscribe_key

log = logging.getLogger("gateway.subscribe")

QUEUE_SIZE = 1000
MAX_MESSAGE_BYTES = 1024 * 1024  # eight times what AWS IoT carries at all
MAX_QUEUED_BYTES = 16 * 1024 * 1024


class SubscriptionDispatcher:
    """Routes received messages to subscribe rules and applies their outcomes."""

    def __init__(self, config: LoadedConfig, runner: ScriptRunner, writes: WriteApplier,
                 variables: Mapping[str, str], global_parameters: Mapping[str, Any]) -> None:
        self._runner, self._writes = runner, writes
        self._rules = [(rule, render_topic(rule.topic, variables)) for rule in config.model.subscribe]
        self._functions = [(function, render_topic(function.trigger_topic or "", variables),
                            function_context(function, config, global_parameters))
                           for function in config.model.functions if function.mode == "message"]
        self._global_parameters = dict(global_parameters)
        self._limits = {cloud.name: cloud.publish_limits for cloud in config.model.clouds}
        self._queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue(QUEUE_SIZE)
        self._queued_bytes = 0
        self.dropped = 0

    def subscriptions(self, cloud: str) -> list[tuple[str, int]]:
        """Return the (topic filter, qos) pairs a cloud's connector must subscribe to."""
        topics: list[tuple[str, int]] = [(topic, rule.qos) for rule, topic in self._rules if rule.cloud == cloud]
        return topics + [(topic, 1) for function, topic, _ in self._functions if function.cloud == cloud]

    def receive(self, cloud: str, topic: str, payload: bytes) -> None:
        """Queue a received message (called on the event loop); drop and count it when full."""
        if len(payload) > MAX_MESSAGE_BYTES:
            self.dropped += 1
            log.warning("%s: dropped a message of %d bytes on %s: larger than %d (%d dropped)", cloud, len(payload),
                        topic, MAX_MESSAGE_BYTES, self.dropped)
            return
        try:
            if self._queued_bytes + len(payload) > MAX_QUEUED_BYTES:
                raise asyncio.QueueFull
            self._queue.put_nowait((cloud, topic, payload))
            self._queued_bytes += len(payload)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("%s: subscribe queue full, dropped a message on %s (%d dropped)", cloud, topic, self.dropped)

    async def run(self) -> None:
        """Process received messages until cancelled."""
        while True:
            stop_if_cancelled()
            cloud, topic, payload = await self._queue.get()
            self._queued_bytes -= len(payload)
            for rule, pattern in self._rules:
                if rule.cloud == cloud and topic_matches_sub(pattern, topic):
                    try:
                        await self._handle(rule, topic, payload)
                    except Exception:  # one bad message must not stop the gateway
                        log.exception("%s: handling a message on %s failed", rule.name, topic)
            for function, pattern, context in self._functions:
                if function.cloud == cloud and topic_matches_sub(pattern, topic):
                    try:
                        await self._call_function(function.name, context, topic, payload)
                    except Exception:  # one bad message must not stop the gateway
                        log.exception("function %s: handling a message on %s failed", function.name, topic)

    async def _call_function(self, name: str, context: CallContext, topic: str, payload: bytes) -> None:
        """Call a ``mode: message`` function with the payload, decoded when it is JSON."""
        text = payload.decode("utf-8", errors="replace")
        try:
            message: Any = json.loads(text)
        except ValueError:
            message = text
        log.info("function %s: message on %s (%d bytes)", name, topic, len(payload))
        outcome = await self._runner.call_function(function_key(name), context, message)
        if outcome.error:
            log.error("function %s failed: %s", name, outcome.error)
        await self._writes.settle(outcome, context)

    async def _handle(self, rule: SubscribeRule, topic: str, payload: bytes) -> None:
        context = CallContext(rule.name, rule.cloud, rule.topic, rule.qos, self._global_parameters,
                              self._limits[rule.cloud])
        text = payload.decode("utf-8", errors="replace")
        log.info("%s: message on %s (%d bytes)", rule.name, topic, len(payload))
        outcome = await self._runner.call_subscribe(subscribe_key(rule.name), topic, text, context)
        await self._writes.settle(outcome, context)

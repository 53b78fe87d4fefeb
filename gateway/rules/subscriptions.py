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
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import topic_matches_sub

from gateway.config import LoadedConfig
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


@dataclass(frozen=True)
class _Route:
    """Where a cloud's messages on ``pattern`` go: a subscribe rule or a ``mode: message`` function."""

    label: str
    cloud: str
    pattern: str
    qos: int
    call: Callable[[str, bytes], Awaitable[None]]  # with the topic and payload


class SubscriptionDispatcher:
    """Routes received messages to subscribe rules and applies their outcomes."""

    def __init__(self, config: LoadedConfig, runner: ScriptRunner, writes: WriteApplier,
                 variables: Mapping[str, str], global_parameters: Mapping[str, Any]) -> None:
        self._runner, self._writes = runner, writes
        parameters = dict(global_parameters)
        limits = {cloud.name: cloud.publish_limits for cloud in config.model.clouds}
        self._routes: list[_Route] = []
        for rule in config.model.subscribe:
            context = CallContext(rule.name, rule.cloud, rule.topic, rule.qos, parameters, limits[rule.cloud])
            self._routes.append(_Route(rule.name, rule.cloud, render_topic(rule.topic, variables), rule.qos,
                                       functools.partial(self._handle, rule.name, context)))
        for function in (f for f in config.model.functions if f.mode == "message"):
            context = function_context(function, config, parameters)
            self._routes.append(_Route(f"function {function.name}", context.cloud,
                                       render_topic(function.trigger_topic or "", variables), 1,
                                       functools.partial(self._call_function, function.name, context)))
        self._queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue(QUEUE_SIZE)
        self._queued_bytes = 0
        self.dropped = 0

    def subscriptions(self, cloud: str) -> list[tuple[str, int]]:
        """Return the (topic filter, qos) pairs a cloud's connector must subscribe to."""
        return [(route.pattern, route.qos) for route in self._routes if route.cloud == cloud]

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
            for route in self._routes:
                if route.cloud == cloud and topic_matches_sub(route.pattern, topic):
                    try:
                        await route.call(topic, payload)
                    except Exception:  # one bad message must not stop the gateway
                        log.exception("%s: handling a message on %s failed", route.label, topic)

    async def _call_function(self, name: str, context: CallContext, topic: str, payload: bytes) -> None:
        """Call a ``mode: message`` function with the payload, decoded when it is JSON."""
        text = payload.decode("utf-8", errors="replace")
        try:
            message: Any = json.loads(text)
        except ValueError:
            message = text
        log.info("function %s: message on %s (%d bytes)", name, topic, len(payload))
        async with self._writes.in_flight.running():
            outcome = await self._runner.call_function(function_key(name), context, message)
            if outcome.error:
                log.error("function %s failed: %s", name, outcome.error)
            await self._writes.settle(outcome, context)

    async def _handle(self, rule: str, context: CallContext, topic: str, payload: bytes) -> None:
        text = payload.decode("utf-8", errors="replace")
        log.info("%s: message on %s (%d bytes)", rule, topic, len(payload))
        async with self._writes.in_flight.running():
            outcome = await self._runner.call_subscribe(subscribe_key(rule), topic, text, context)
            await self._writes.settle(outcome, context)

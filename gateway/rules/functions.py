"""Custom functions (``functions:`` in config.yaml): run at start, or every ``period`` seconds
(those run by a message are called by :mod:`gateway.rules.subscriptions`).

What a function publishes is committed to the outbox for its cloud; what it writes goes through
the write checks; a failing call is logged and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from gateway.config import LoadedConfig
from gateway.config.schema import CustomFunction
from gateway.core.messages import CallContext
from gateway.core.publish_limits import PublishLimits
from gateway.core.tasks import stop_if_cancelled
from gateway.rules.outcomes import WriteApplier
from gateway.scripting import ScriptRunner
from gateway.scripting.loading import function_key

log = logging.getLogger("gateway.functions")


def function_context(function: CustomFunction, config: LoadedConfig,
                     global_parameters: Mapping[str, Any]) -> CallContext:
    """Return what a custom function's call knows: its cloud, topic, limits and parameters."""
    cloud = next((c for c in config.model.clouds if c.name == function.cloud), None)
    return CallContext(function.name, function.cloud or "", function.topic, 1, dict(global_parameters),
                       cloud.publish_limits if cloud else PublishLimits(max_payload=0))


class FunctionScheduler:
    """Runs one custom function on its schedule."""

    def __init__(self, function: CustomFunction, config: LoadedConfig, runner: ScriptRunner,
                 writes: WriteApplier, global_parameters: Mapping[str, Any]) -> None:
        self._function, self._runner, self._writes = function, runner, writes
        self._context = function_context(function, config, global_parameters)

    async def run(self) -> None:
        """Call the function now, then every period for a periodic one, until cancelled."""
        while True:
            stop_if_cancelled()
            await self._call_once()
            if self._function.mode == "startup" or self._function.period is None:
                return
            await asyncio.sleep(self._function.period)

    async def _call_once(self) -> None:
        async with self._writes.in_flight.running():
            outcome = await self._runner.call_function(function_key(self._function.name), self._context)
            if outcome.error:
                log.error("function %s failed: %s", self._function.name, outcome.error)
                return
            await self._writes.settle(outcome, self._context)

"""``gateway script test --live``: what a publish script would do with the PLCs' values now.

One read of the group's controllers, shaped exactly as the group's upload would be, with the
context (topic, cloud, limits, parameters) of the publish rule that runs the function. Nothing is
published and nothing is written: the caller runs the script in the sandbox and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.collect.assembly import build_pollers
from gateway.config import LoadedConfig, PublishRule
from gateway.config.identity import gateway_variables, global_parameters
from gateway.core.errors import GatewayError
from gateway.core.latest import LatestValues
from gateway.core.messages import CallContext
from gateway.rules.publisher import rule_context
from gateway.rules.tag_config import tag_config
from gateway.rules.uploader import data_collect_now


@dataclass
class LiveSample:
    """One fresh reading of a group, and what a script call needs besides it."""

    data_collect: dict[str, Any]
    context: CallContext
    queries: dict[str, Any] = field(default_factory=dict)
    unread: list[str] = field(default_factory=list)  # "controller: why" for each that did not answer


async def live_sample(config: LoadedConfig, script: Path, function: str, group: str | None) -> LiveSample:
    """Read ``group`` (default: the group of the rule running ``function`` of ``script``) once."""
    model = config.model
    rule = _rule_running(config, script, function)
    name = group or (rule.groups[0] if rule is not None and rule.groups else None)
    if name is None:
        raise GatewayError(f"no publish rule runs {function}() of {script}; name the group to read with --group")
    chosen = next((g for g in model.groups if g.name == name), None)
    if chosen is None:
        known = ", ".join(g.name for g in model.groups) or "none"
        raise GatewayError(f"no group '{name}' in {config.path} (groups: {known})")
    measures = [m for m in model.measures if m.group == name]
    latest = LatestValues()
    pollers = build_pollers(model, latest, measures)
    try:
        answered = await asyncio.gather(*(poller.poll_once() for poller in pollers))
    finally:
        for poller in pollers:
            with contextlib.suppress(Exception):
                await poller.driver.close()
    snapshot = data_collect_now(chosen, measures, latest)
    parameters = global_parameters(model)
    context = (rule_context(rule, model, gateway_variables(model), parameters) if rule is not None
               else CallContext("test", "cloud", "test/topic", 1, parameters))
    values = {"timestamp": snapshot["timestamp"], "values": snapshot["values"]}
    return LiveSample(snapshot, context, {"values": values, "tag_config": tag_config(model)},
                      [f"{p.name}: {p.health.last_error}" for p, ok in zip(pollers, answered, strict=True) if not ok])


def _rule_running(config: LoadedConfig, script: Path, function: str) -> PublishRule | None:
    target = script.resolve()
    for rule in config.model.publish:
        if rule.script and rule.function == function and config.resolve(rule.script).resolve() == target:
            return rule
    return None


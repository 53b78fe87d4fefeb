"""The alarm engine: evaluates every rule on its measure's fresh readings, raises and clears.

Each raise and clear is kept in the alarm log (active alarms survive a restart) and handed to the
publish rules with ``source: alarm`` whose labels match, in Device Supervisor's alarm dict:
``{"timestamp", "group_name": label, "values": {name: {"timestamp", "current": "on"|"off",
"status": 0 raised | 1 cleared, "value", "alarm_content", "level", "ctrlName", "measureName",
"alarm_value": the value that raised it}}}``.
A measure whose last read failed (status 0) neither raises nor clears anything: a stale value
says nothing about the process.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.config import Measure
from gateway.config.schema import Alarm
from gateway.core.alarm_message import alarm_message
from gateway.core.clock import REAL_CLOCK, Clock
from gateway.core.errors import StoreError
from gateway.core.latest import LatestValues
from gateway.core.tasks import stop_if_cancelled
from gateway.store.alarm_log import AlarmLog
from gateway.store.history import numeric

from .rules import LEVELS, AlarmState, condition_holds

log = logging.getLogger("gateway.alarms")

Deliver = Callable[[dict[str, Any], str], Awaitable[None]]
EVALUATE_EVERY = 0.2


class AlarmEngine:
    """Raises and clears the configured alarms."""

    def __init__(self, rules: Sequence[Alarm], measures: Sequence[Measure], latest: LatestValues, alarm_log: AlarmLog,
                 deliver: Deliver, *, clock: Clock = REAL_CLOCK) -> None:
        self._latest, self._log, self._deliver, self._clock = latest, alarm_log, deliver, clock
        self._rules: list[tuple[Alarm, str]] = []
        for rule in rules:
            controller = rule.controller or next(m.controller for m in measures if m.name == rule.measure)
            self._rules.append((rule, controller))
        self.states: dict[str, AlarmState] = {rule.name: AlarmState() for rule in rules}

    async def restore(self) -> None:
        """Take up the alarms that were active before a restart; forget those whose rule is gone."""
        names = {rule.name for rule, _ in self._rules}
        for name, record in (await self._log.active()).items():
            if name in names:
                self.states[name].active, self.states[name].since = True, float(record["timestamp"])
                self.states[name].value = record.get("value")
                self.states[name].raised_value = record.get("alarm_value", record.get("value"))
            else:
                await self._log.cleared(name, {**record, "current": "off", "status": 1,
                                               "timestamp": self._clock.now(), "alarm_content": "rule removed"})

    @property
    def active(self) -> list[str]:
        """Return the names of the active alarms."""
        return [name for name, state in self.states.items() if state.active]

    async def run(self) -> None:
        """Evaluate until cancelled."""
        await self.restore()
        if self._rules:
            log.info("evaluating %d alarm rule(s); %d active", len(self._rules), len(self.active))
        while True:
            stop_if_cancelled()
            await self.evaluate()
            await self._clock.sleep(EVALUATE_EVERY)

    async def evaluate(self) -> int:
        """Evaluate every rule once on its measure's latest reading; return how many changed."""
        changed = 0
        now = self._clock.now()
        for rule, controller in self._rules:
            reading = self._latest.get(controller, rule.measure)
            state = self.states[rule.name]
            value = numeric(reading.value)
            if reading.status != 1 or value is None:
                continue  # a failed read, or no number: nothing is known about the condition
            state.value = value
            if state.update(condition_holds(rule, value, state.active), now, rule.delay):
                changed += 1
                await self._announce(rule, controller, state, value, now)
        return changed

    async def _announce(self, rule: Alarm, controller: str, state: AlarmState, value: float, now: float) -> None:
        if state.active:
            state.raised_value = value
        message = alarm_message(name=rule.name, label=rule.label, level=rule.level, content=rule.content,
                                controller=controller, measure=rule.measure, active=state.active, value=value,
                                raised_value=state.raised_value, now=now)
        item = message["values"][rule.name]
        record = {"name": rule.name, "label": rule.label, "level_name": LEVELS[rule.level], **item}
        (log.warning if state.active else log.info)("alarm %s %s: %s.%s = %s (%s)", rule.name,
                                                    "raised" if state.active else "cleared", controller,
                                                    rule.measure, value, rule.content or LEVELS[rule.level])
        try:
            if state.active:
                await self._log.raised(rule.name, record)
            else:
                await self._log.cleared(rule.name, record)
        except StoreError as exc:
            log.error("alarm %s: %s", rule.name, exc)
        await self._deliver(message, rule.label)


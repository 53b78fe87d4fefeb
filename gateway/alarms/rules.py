"""Alarm conditions, pure: a rule's one or two comparisons, their combination, and hysteresis.

Device Supervisor's operators: ``eq, neq, gt, egt (>=), lt, elt (<=)``. With ``hysteresis`` an
active alarm clears only when the value has moved that far back past the threshold (below
``value - hysteresis`` for gt/egt, above ``value + hysteresis`` for lt/elt), so a value hovering at
the threshold does not raise and clear on every read.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config.schema import Alarm, Condition

_OPS: dict[str, Callable[[float, float], bool]] = {
    "eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "egt": operator.ge, "lt": operator.lt, "elt": operator.le,
}
LEVELS = {1: "Reminder", 2: "Warning", 3: "Minor", 4: "Major", 5: "Critical"}


def compare(condition: Condition, value: float, active: bool = False, hysteresis: float = 0.0) -> bool:
    """Return whether ``value`` meets ``condition``; an active alarm's threshold is moved back by
    ``hysteresis`` so that it stays raised until the value is clearly past it."""
    threshold = condition.value
    if active and hysteresis:
        if condition.op in ("gt", "egt"):
            threshold -= hysteresis
        elif condition.op in ("lt", "elt"):
            threshold += hysteresis
    return _OPS[condition.op](value, threshold)


def condition_holds(rule: Alarm, value: float, active: bool = False) -> bool:
    """Return whether ``rule``'s condition (one or two comparisons) holds for ``value``."""
    first = compare(rule.cond1, value, active, rule.hysteresis)
    if rule.cond2 is None or rule.combine == "none":
        return first
    second = compare(rule.cond2, value, active, rule.hysteresis)
    return first and second if rule.combine == "and" else first or second


@dataclass
class AlarmState:
    """Where one rule stands: raised or not, and since when its condition has been pending a change."""

    active: bool = False
    since: float = 0.0  # when it was raised (or cleared)
    pending_since: float | None = None  # when the condition first differed from ``active``, for ``delay``
    value: float | None = None
    raised_value: float | None = None  # the value that raised it: Device Supervisor's alarm_value

    def update(self, holds: bool, now: float, delay: float) -> bool:
        """Feed one evaluation; return True when the alarm changes (raised or cleared) now."""
        if holds == self.active:
            self.pending_since = None
            return False
        if self.pending_since is None:
            self.pending_since = now
        if now - self.pending_since < delay:
            return False
        self.active, self.since, self.pending_since = holds, now, None
        return True

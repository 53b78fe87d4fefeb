"""Say which configured features this version validates but does not act on yet.

A configuration may name alarms or alarm-source publish rules before the gateway
carries them out; rather than ignoring them silently, the gateway and ``gateway check`` say so.
"""

from __future__ import annotations

from gateway.config import GatewayConfig


def inactive_features(model: GatewayConfig) -> list[str]:
    """Return one sentence per configured feature that is not active in this version."""
    notes = []
    if model.alarms:
        notes.append(f"alarms: {len(model.alarms)} rule(s) are checked but not evaluated yet")
    alarm_rules = [r.name for r in model.publish if r.source == "alarm"]
    if alarm_rules:
        notes.append(f"publish rules {', '.join(alarm_rules)}: source: alarm never fires until alarms are evaluated")
    return notes

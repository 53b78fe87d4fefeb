"""Alarms: rules on measures, raised and cleared with Device Supervisor semantics."""

from .engine import AlarmEngine
from .rules import AlarmState, condition_holds

__all__ = ["AlarmEngine", "AlarmState", "condition_holds"]

"""Collection: a poller per controller, its read blocks, transforms and PLC writes."""

from .poller import ControllerHealth, ControllerPoller

__all__ = ["ControllerHealth", "ControllerPoller"]

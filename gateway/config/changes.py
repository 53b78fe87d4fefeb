"""What a configuration change touches, so that a change to one controller restarts only its poller."""

from __future__ import annotations

from .schema import GatewayConfig


def changed_controllers(old: GatewayConfig, new: GatewayConfig) -> list[str] | None:
    """Return the names of the controllers whose settings are all that differs between ``old`` and
    ``new``; None when anything else differs (a measure, a group, a controller added, removed,
    renamed or moved) or nothing does, which the whole gateway has to take up."""
    if len(old.controllers) != len(new.controllers):
        return None
    changed = []
    for before, after in zip(old.controllers, new.controllers, strict=True):
        if before.name != after.name:
            return None
        if before != after:
            changed.append(after.name)
    if not changed:
        return None
    for field in type(new).model_fields:
        if field != "controllers" and getattr(old, field) != getattr(new, field):
            return None
    return changed

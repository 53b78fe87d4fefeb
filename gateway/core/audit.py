"""Who did what to the plant and the gateway: the audit trail every layer records into.

A PLC write names who asked for it (a user, a rule, a data service's client, a cloud) and the
value before and after; logins, password and configuration changes, script uploads name the
user's address. The trail is a protocol here so that the layers that write PLCs need not know
where it is kept (``gateway.store.audit_log``)."""

from __future__ import annotations

from typing import Protocol

WRITE = "write"
LOGIN = "login"
LOGIN_FAILED = "login failed"
LOGOUT = "logout"
PASSWORD = "password"
CONFIG = "configuration"
SCRIPT = "script"
ALARM = "acknowledge"


class AuditTrail(Protocol):
    """Where audit entries go."""

    def record(self, actor: str, action: str, subject: str, detail: str = "") -> None:
        """Note that ``actor`` did ``action`` to ``subject`` (now); never blocks, never raises."""

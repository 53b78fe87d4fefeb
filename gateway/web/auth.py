"""Who is logged in to the admin UI: sessions and a login rate limit.

The password itself is kept by :mod:`gateway.runtime.passwords`, which ``gateway passwd`` uses
without loading the web layer.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field


@dataclass
class Session:
    """A logged-in browser: its CSRF token and when it was last used."""

    csrf: str
    created: float
    last_seen: float


@dataclass
class Sessions:
    """Logged-in sessions, kept in memory: a restart logs everyone out. The cookie holds a random
    token; only its hash is kept, so a memory dump does not yield usable cookies."""

    idle_seconds: float = 3600.0
    max_seconds: float = 12 * 3600.0
    _sessions: dict[str, Session] = field(default_factory=dict)

    def create(self) -> tuple[str, Session]:
        """Start a session; return its cookie token and the session."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(secrets.token_urlsafe(32), now, now)
        self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        """Return the live session of ``token`` (and mark it used), or None."""
        if not token:
            return None
        key = _digest(token)
        session = self._sessions.get(key)
        now = time.monotonic()
        if session is None:
            return None
        if now - session.last_seen > self.idle_seconds or now - session.created > self.max_seconds:
            del self._sessions[key]
            return None
        session.last_seen = now
        return session

    def end(self, token: str | None) -> None:
        """Log a session out."""
        if token:
            self._sessions.pop(_digest(token), None)

    def end_all_but(self, token: str | None) -> None:
        """Log out every other session (after a password change)."""
        keep = _digest(token) if token else None
        self._sessions = {k: s for k, s in self._sessions.items() if k == keep}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class LoginLimiter:
    """Failed logins per client address: after ``allowed`` failures within ``window`` seconds the
    address is locked out, for ``lockout`` seconds doubling with each further failure (capped)."""

    allowed: int = 5
    window: float = 600.0
    lockout: float = 60.0
    max_lockout: float = 900.0
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def retry_after(self, client: str) -> float:
        """Return the seconds ``client`` must wait before trying again (0 when it may try now)."""
        return max(0.0, self._locked_until.get(client, 0.0) - time.monotonic())

    def failed(self, client: str) -> None:
        """Count a failure; lock the client out when it had too many."""
        now = time.monotonic()
        recent = [t for t in self._failures.get(client, []) if now - t < self.window] + [now]
        self._failures[client] = recent
        over = len(recent) - self.allowed
        if over >= 0:
            self._locked_until[client] = now + min(self.max_lockout, self.lockout * 2 ** over)
        if len(self._failures) > 10_000:  # many addresses: forget the oldest rather than grow without end
            oldest = min(self._failures, key=lambda c: self._failures[c][-1])
            self._failures.pop(oldest)

    def succeeded(self, client: str) -> None:
        """Forget a client's failures after a good login."""
        self._failures.pop(client, None)
        self._locked_until.pop(client, None)

"""The administrator's password: one scrypt hash in ``<data_dir>/auth.json``, and the setup code.

There is no default password. At first start the gateway prints a one-time setup code (and keeps
it in ``<data_dir>/setup-code``, readable by root only); whoever can read the console or that file
sets the password in the UI. ``gateway passwd`` sets it from the shell. Passwords are stored as
scrypt hashes; the running gateway reads the file at every login, so a password set from the shell
takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from gateway.config.save import write_atomically
from gateway.core.errors import GatewayError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}  # about 50 ms on a 1 GHz Cortex-A8, 16 MiB of memory


class AuthError(GatewayError):
    """A login, setup or password change was refused (the message says why, never a secret)."""


def password_problem(password: str) -> str | None:
    """Return why ``password`` cannot be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password may have at most {MAX_PASSWORD_LENGTH} characters"
    return None


class PasswordStore:
    """The administrator's password hash in ``<data_dir>/auth.json``, and the setup code until it is set."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "auth.json"
        self.setup_code_path = data_dir / "setup-code"

    @property
    def is_set(self) -> bool:
        """Return True once a password was set."""
        return self.path.exists()

    def set_password(self, password: str) -> None:
        """Hash and store ``password``; the setup code stops working."""
        if problem := password_problem(password):
            raise AuthError(problem)
        salt = secrets.token_bytes(16)
        record = {"algorithm": "scrypt", **_SCRYPT, "salt": salt.hex(), "hash": _hash(password, salt, _SCRYPT).hex(),
                  "changed": time.time()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(record), mode=0o600, keep_backup=False)
        self.setup_code_path.unlink(missing_ok=True)

    def verify(self, password: str) -> bool:
        """Return True when ``password`` is the administrator's (constant time)."""
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            salt = bytes.fromhex(record["salt"])
            params = {k: int(record[k]) for k in ("n", "r", "p")}
            expected = bytes.fromhex(record["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        return hmac.compare_digest(_hash(password, salt, params), expected)

    def setup_code(self) -> str | None:
        """Return the one-time setup code, creating it at first start; None once a password is set."""
        if self.is_set:
            return None
        try:
            return self.setup_code_path.read_text(encoding="utf-8").strip()
        except OSError:
            pass
        code = "-".join(secrets.token_hex(3).upper() for _ in range(3))
        self.setup_code_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.setup_code_path, code + "\n", mode=0o600, keep_backup=False)
        return code

    def check_setup_code(self, code: str) -> bool:
        """Return True when ``code`` is the current setup code (constant time), typed in any case,
        with or without its dashes and spaces."""
        current = None if self.is_set else self.setup_code()
        if current is None:
            return False
        return hmac.compare_digest(_code_letters(code).encode(), _code_letters(current).encode())


def _code_letters(code: str) -> str:
    return "".join(character for character in code.upper() if character.isalnum())


def _hash(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params["n"], r=params["r"], p=params["p"],
                          maxmem=64 * 1024 * 1024, dklen=32)

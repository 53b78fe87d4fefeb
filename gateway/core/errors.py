"""The gateway's one error tree.

    GatewayError
     ├── ConfigError            a configuration is invalid; carries every Problem found
     ├── DriverError            a southbound operation failed (``retryable`` says whether to retry)
     │    ├── ConnectError      the PLC cannot be reached or refused the session (retryable)
     │    ├── RequestTimeout    a request got no answer in time (retryable)
     │    ├── BadAnswer         an answer that does not answer the request (retryable)
     │    ├── DeviceRejected    the PLC answered with an exception (bad value, busy, ...)
     │    │    └── IllegalAddress   ... saying an address does not exist (permanent)
     │    └── AddressError      an address string does not parse for the protocol
     ├── ScriptError            a user script failed
     │    ├── ScriptCompileError   refused at compile time (policy or syntax), with the line
     │    └── ScriptRuntimeError   raised while running, with the user's line
     ├── StoreError             the SQLite store failed
     └── CloudError             a cloud connection or publish was refused

Library exceptions are wrapped at the boundary with ``raise ... from`` so callers only ever see
this tree.
"""

from __future__ import annotations

from dataclasses import dataclass


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, addressed by its path (``measures[3].address``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(GatewayError):
    """A configuration was refused; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DriverError(GatewayError):
    """A southbound operation failed."""

    retryable: bool = True


class ConnectError(DriverError):
    """The PLC could not be reached or refused the connection."""


class RequestTimeout(DriverError):
    """The PLC did not answer a request in time."""


class BadAnswer(DriverError):
    """The answer did not answer the request (another function code, length, unit or transaction):
    the whole frame is dropped and the connection, no longer in step, is opened again."""


class DeviceRejected(DriverError):
    """The PLC answered with an exception; retrying the same request will not help."""

    retryable = False


class IllegalAddress(DeviceRejected):
    """The PLC says an address in the request does not exist; it will not start to exist."""


class AddressError(DriverError):
    """An address string is not valid for the protocol."""

    retryable = False


class ScriptError(GatewayError):
    """A user script could not be compiled or failed while running."""


class ScriptCompileError(ScriptError):
    """The script was refused before running: syntax or sandbox policy."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class ScriptRuntimeError(ScriptError):
    """The script raised while running."""


class StoreError(GatewayError):
    """The SQLite store failed."""


class CloudError(GatewayError):
    """A cloud connection or publish was refused."""

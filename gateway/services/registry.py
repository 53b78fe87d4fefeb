"""Find the implementation of each data service (the protocol's plugin holds it, as it holds the
driver), and build the configured ones."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any, Protocol

from gateway.config.schema import GatewayConfig
from gateway.core.errors import Problem

from .access import DataAccess

_BUILTIN = {
    "modbus_server": "gateway_plugins.modbus.slave:ModbusSlaveService",
}


class DataService(Protocol):
    """A data service: built from the configuration, run as a part of the gateway."""

    name: str

    async def run(self) -> None:
        """Serve until cancelled; raise when it cannot (the supervisor restarts it)."""

    def status(self) -> Mapping[str, Any]:
        """Return the state and counters the overview shows."""


def _service_class(key: str) -> Any:
    module_name, _, class_name = _BUILTIN[key].partition(":")
    return getattr(import_module(module_name), class_name)


def configured_services(config: GatewayConfig) -> list[str]:
    """Return the keys of the services ``config`` enables."""
    return [key for key in _BUILTIN if (section := getattr(config.services, key)) is not None and section.enabled]


def check_services(config: GatewayConfig) -> list[Problem]:
    """Return the problems of every configured service (its map against the measures)."""
    return [problem for key in _BUILTIN if getattr(config.services, key) is not None
            for problem in _service_class(key).check(config)]


def build_services(config: GatewayConfig, access: DataAccess) -> list[DataService]:
    """Build every enabled service of ``config``."""
    return [_service_class(key)(config, access) for key in configured_services(config)]

"""Find a data service's implementation by its key under ``services:`` (the protocol's plugin
holds it, as it holds the driver)."""

from __future__ import annotations

from importlib import import_module

from .contract import DataService

_BUILTIN = {
    "modbus_server": "gateway_plugins.modbus.slave:ModbusSlaveService",
    "opcua_server": "gateway_plugins.opcua.server:OpcUaServerService",
}


def available_services() -> list[str]:
    """Return every service key, in the order the UI lists them."""
    return list(_BUILTIN)


def service_for(key: str) -> type[DataService]:
    """Return the class of service ``key``; KeyError when there is none."""
    module_name, _, class_name = _BUILTIN[key].partition(":")
    service = getattr(import_module(module_name), class_name)
    if not (isinstance(service, type) and issubclass(service, DataService)):
        raise TypeError(f"{_BUILTIN[key]} is not a DataService")
    return service

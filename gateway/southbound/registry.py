"""Find the driver class for a protocol name: built-in plugins, then the ``gateway.drivers``
entry-point group for third-party drivers."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from .driver import AnyDriver, Driver

_BUILTIN = {
    "modbus-tcp": "gateway_plugins.modbus.driver:ModbusTcpDriver",
    "modbus-rtu": "gateway_plugins.modbus.driver:ModbusRtuDriver",
    "s7": "gateway_plugins.s7.driver:S7Driver",
    "opcua": "gateway_plugins.opcua.driver:OpcUaDriver",
    "ethernet-ip": "gateway_plugins.logix.driver:LogixDriver",
    "mc-3e": "gateway_plugins.melsec.driver:MelsecDriver",
    "simulator": "gateway_plugins.simulator.driver:SimulatorDriver",
}


@cache
def available_protocols() -> dict[str, str]:
    """Map every known protocol name to the ``module:Class`` that implements it."""
    found = dict(_BUILTIN)
    for ep in entry_points(group="gateway.drivers"):
        found.setdefault(ep.name, ep.value)
    return found


def driver_for(protocol: str) -> type[AnyDriver]:
    """Return the driver class of ``protocol``; KeyError when nobody implements it."""
    target = available_protocols()[protocol]
    module_name, _, class_name = target.partition(":")
    driver = getattr(import_module(module_name), class_name)
    if not (isinstance(driver, type) and issubclass(driver, Driver)):
        raise TypeError(f"{target} is not a Driver")
    return driver

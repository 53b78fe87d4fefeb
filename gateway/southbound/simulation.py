"""Simulated devices: what a plugin's simulator offers, and how to find and start one.

Each plugin that talks to real hardware ships a simulator (``simserver.py``) the demo and the
tests run its driver against. The driver names it in ``simulator`` as ``module:function``; the
function builds (does not start) a server on 127.0.0.1 for a controller's points and args.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, Protocol

from .driver import AnyDriver, DriverArgs
from .points import Point

Moving = Callable[[Point], bool]  # which points change with time (the others keep what is written)


class SimServer(Protocol):
    """A simulated device on a loopback port."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def set_value(self, name: str, value: Any) -> None: ...
    def get_value(self, name: str) -> Any: ...


SimulatorFactory = Callable[[Sequence[Point], int, DriverArgs, Moving], SimServer]


def simulator_of(driver: type[AnyDriver]) -> SimulatorFactory | None:
    """Return the function that builds a simulated device for ``driver``, or None if it has none
    (a serial line, a protocol simulated inside the gateway)."""
    if not driver.simulator:
        return None
    module_name, _, name = driver.simulator.partition(":")
    factory: SimulatorFactory = getattr(import_module(module_name), name)
    return factory

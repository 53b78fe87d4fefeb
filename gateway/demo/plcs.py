"""Start simulated PLCs for the controllers of a configuration that point at this machine.

Which protocols have a simulator, and how to build one, comes from the driver registry: a new
plugin with a ``simulator`` appears in the demo without a change here.
"""

from __future__ import annotations

from typing import Any

from gateway.config import LoadedConfig, measure_point
from gateway.southbound import driver_for, parse_args
from gateway.southbound.simulation import SimServer, simulator_of

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def simulators_for(config: LoadedConfig) -> list[tuple[str, SimServer]]:
    """Build (not start) a simulator for each loopback controller whose protocol has one."""
    servers: list[tuple[str, SimServer]] = []
    model = config.model
    for controller in model.controllers:
        driver = driver_for(controller.protocol)
        simulate = simulator_of(driver)
        if simulate is None:
            continue
        host, port = driver.network_address(controller.endpoint)
        if host not in LOOPBACK:
            continue
        measures = [m for m in model.measures if m.controller == controller.name]
        points = [measure_point(m, controller) for m in measures]
        read_only = {m.name for m in measures if m.access == "ro"}
        moving: Any = lambda p, names=read_only: p.name in names  # noqa: E731 - bound per controller
        server = simulate(points, port, parse_args(driver, controller.args), moving)
        servers.append((f"{controller.name} ({controller.protocol} on 127.0.0.1:{port})", server))
    return servers

"""Start simulated PLCs for the controllers of a configuration that point at this machine."""

from __future__ import annotations

from typing import Any, Protocol

from gateway.config import LoadedConfig, measure_point
from gateway.southbound import split_host_port

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SimServer(Protocol):
    """What the demo needs of a simulator server."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def simulators_for(config: LoadedConfig) -> list[tuple[str, SimServer]]:
    """Build (not start) a simulator per loopback Modbus TCP or S7 controller."""
    from gateway_plugins.modbus.simserver import ModbusSimServer
    from gateway_plugins.s7.simserver import S7SimServer

    servers: list[tuple[str, SimServer]] = []
    model = config.model
    for controller in model.controllers:
        if controller.protocol not in ("modbus-tcp", "s7"):
            continue
        host, port = split_host_port(controller.endpoint)
        if host not in LOOPBACK:
            continue
        measures = [m for m in model.measures if m.controller == controller.name]
        points = [measure_point(m, controller) for m in measures]
        read_only = {m.name for m in measures if m.access == "ro"}
        moving: Any = lambda p, names=read_only: p.name in names  # noqa: E731 - bound per controller
        server: SimServer
        if controller.protocol == "modbus-tcp":
            server = ModbusSimServer(points, "127.0.0.1", port, int(controller.args.get("unit_id", 1)), moving)
        else:
            server = S7SimServer(points, "127.0.0.1", port, moving)
        servers.append((f"{controller.name} ({controller.protocol} on 127.0.0.1:{port})", server))
    return servers

"""Build the pollers of a configuration: one per controller that has measures, each with its
driver (not yet connected) and the serial line it shares with the other controllers on that port."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from gateway.config import GatewayConfig, Measure
from gateway.core.latest import LatestValues
from gateway.southbound import SerialLine, driver_for, parse_args

from .poller import ControllerPoller

log = logging.getLogger("gateway.collect")


def build_pollers(model: GatewayConfig, latest: LatestValues, measures: Sequence[Measure] | None = None,
                  controllers: Collection[str] | None = None) -> list[ControllerPoller]:
    """Return a poller for each controller (default: all, else those named in ``controllers``)
    with at least one of ``measures`` (default: all)."""
    chosen = model.measures if measures is None else measures
    serial_lines = {p.name: SerialLine(p.device, p.baud, p.bits, p.parity, p.stopbits) for p in model.serial_ports}
    pollers = []
    for controller in model.controllers:
        if controllers is not None and controller.name not in controllers:
            continue
        own = [m for m in chosen if m.controller == controller.name]
        if not own:
            log.info("%s: no measures, not polled", controller.name)
            continue
        driver_class = driver_for(controller.protocol)
        serial = serial_lines.get(controller.endpoint) if driver_class.uses_serial_port else None
        args = parse_args(driver_class, controller.args)
        driver = driver_class(controller.endpoint, controller.timeout, args, serial)
        pollers.append(ControllerPoller(controller, own, driver, latest))
    return pollers

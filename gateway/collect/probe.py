"""Try a controller's settings before they are saved: the form's "Test connection". The driver
is built as a poller would build it, connected once and closed; nothing is read or written."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from gateway.config import Controller
from gateway.config.schema import SerialPort
from gateway.core.errors import DriverError
from gateway.southbound import SerialLine, driver_for, parse_args


async def probe_controller(controller: Controller, serial_ports: Sequence[SerialPort]) -> str:
    """Connect once; return what happened in a sentence, or raise DriverError saying why not."""
    driver_class = driver_for(controller.protocol)
    serial = None
    if driver_class.uses_serial_port:
        port = next((p for p in serial_ports if p.name == controller.endpoint), None)
        if port is None:
            raise DriverError(f"no serial port '{controller.endpoint}' (add it under Serial ports first)")
        serial = SerialLine(port.device, port.baud, port.bits, port.parity, port.stopbits)
    driver = driver_class(controller.endpoint, controller.timeout, parse_args(driver_class, controller.args), serial)
    started = time.monotonic()
    try:
        await asyncio.wait_for(driver.connect(), controller.timeout + 1.0)
    except TimeoutError as exc:
        raise DriverError(f"{controller.endpoint}: no answer within {controller.timeout:g} s") from exc
    finally:
        await driver.close()
    return f"connected to {controller.endpoint} in {(time.monotonic() - started) * 1000:.0f} ms"

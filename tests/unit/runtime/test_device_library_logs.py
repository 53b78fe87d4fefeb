"""The device libraries' own lines stay out of the log unless it is at debug level: a misbehaving
device is logged once by the poller, once more when it recovers, not with a frame dump per answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gateway.collect import ControllerPoller
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway.runtime.logs import DEVICE_LIBRARIES, quiet_device_libraries
from gateway_plugins.modbus.driver import ModbusTcpArgs, ModbusTcpDriver
from tests import hostile_modbus as hostile
from tests.hostile_modbus import HostileModbus


@pytest.fixture
def library_levels() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in DEVICE_LIBRARIES}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def _poll_garbling_device(cycles: int) -> None:
    """Poll, as RTU frames over TCP, a device that answers MBAP frames: garbage to the RTU framer."""
    async with HostileModbus(hostile.correct) as plc:
        controller = Controller(name="PLC1", protocol="modbus-tcp", endpoint=f"127.0.0.1:{plc.port}", timeout=0.3)
        measures = [Measure(name="v", controller="PLC1", group="g", address="40001", type="INT")]
        driver = ModbusTcpDriver(controller.endpoint, controller.timeout, ModbusTcpArgs(framer="rtu"))
        poller = ControllerPoller(controller, measures, driver, LatestValues())
        try:
            for _ in range(cycles):
                assert not await poller.poll_once()
        finally:
            await driver.close()


@pytest.mark.usefixtures("library_levels")
async def test_pymodbus_is_heard_only_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_device_libraries("info")
    await _poll_garbling_device(4)
    ours = [r for r in caplog.records if r.name == "gateway.collect" and r.levelno >= logging.ERROR]
    theirs = [r for r in caplog.records if r.name.startswith("pymodbus")]
    assert len(ours) == 1 and theirs == []
    caplog.clear()
    quiet_device_libraries("debug")
    await _poll_garbling_device(1)
    shown = [r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno >= logging.WARNING]
    assert shown  # the DEBUG switch shows them

"""Every registered driver is a folder with the parts docs/design.md section 10 asks for, and its
``sample.yaml`` is a configuration that ``gateway check`` accepts and that reads every measure from
the plugin's simulator."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from gateway.cli import main
from gateway.collect.assembly import build_pollers
from gateway.config import load_config
from gateway.core.latest import LatestValues
from gateway.demo.plcs import simulators_for
from gateway.southbound import Driver, available_protocols, driver_for
from gateway.southbound.simulation import simulator_of
from tests.conftest import free_port

REQUIRED = ("driver.py", "addresses.py", "planning.py", "codec.py", "README.md", "sample.yaml")


def _folder(protocol: str) -> Path:
    return Path(importlib.import_module(driver_for(protocol).__module__).__file__ or "").parent


@pytest.mark.parametrize("protocol", sorted(available_protocols()))
def test_driver_folder_has_every_part(protocol: str) -> None:
    driver = driver_for(protocol)
    assert issubclass(driver, Driver)
    assert driver.protocol == protocol and driver.title and driver.address_forms
    missing = [name for name in REQUIRED if not (_folder(protocol) / name).is_file()]
    assert not missing, f"{protocol} driver lacks {missing}"
    sample = yaml.safe_load((_folder(protocol) / "sample.yaml").read_text())
    assert any(c.get("protocol") == protocol for c in sample.get("controllers", [])), \
        f"the sample has no {protocol} controller"


@pytest.mark.parametrize("folder", sorted({_folder(p) for p in available_protocols()}), ids=lambda f: f.name)
async def test_the_sample_is_checked_and_read_from_the_simulator(folder: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(folder / "sample.yaml")]) == 0, capsys.readouterr().out
    raw = yaml.safe_load((folder / "sample.yaml").read_text())
    for controller in raw["controllers"]:  # the plant's addresses become simulators on this machine
        driver = driver_for(controller["protocol"])
        if simulator_of(driver) is not None:
            controller["endpoint"] = driver.endpoint_at("127.0.0.1", free_port())
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    servers = [server for _, server in simulators_for(config)]
    latest = LatestValues()
    pollers = [p for p in build_pollers(config.model, latest) if not p.driver.uses_serial_port]  # no line here
    assert pollers
    try:
        for server in servers:
            await server.start()
        for poller in pollers:
            assert await poller.poll_once(), f"{poller.name}: {poller.health.last_error}"
            unread = {name: latest.get(poller.name, name).error for name in poller.measures
                      if latest.get(poller.name, name).status != 1}
            assert not unread, f"{poller.name} could not read {unread}"
    finally:
        for poller in pollers:
            await poller.driver.close()
        for server in servers:
            await server.stop()

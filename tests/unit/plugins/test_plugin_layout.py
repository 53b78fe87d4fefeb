"""Every registered driver is a folder with the parts docs/design.md section 10 asks for, and its
README's sample configuration is one the gateway accepts."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from gateway.config import parse_config
from gateway.southbound import Driver, available_protocols, driver_for

REQUIRED = ("driver.py", "addresses.py", "planning.py", "codec.py", "README.md")


@pytest.mark.parametrize("protocol", sorted(available_protocols()))
def test_driver_folder_has_every_part(protocol: str) -> None:
    driver = driver_for(protocol)
    assert issubclass(driver, Driver)
    assert driver.protocol == protocol
    folder = Path(importlib.import_module(driver.__module__).__file__ or "").parent
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    assert not missing, f"{protocol} driver lacks {missing}"
    samples = re.findall(r"```yaml\n(.*?)```", (folder / "README.md").read_text(), re.S)
    assert samples, "README needs a sample config"
    sample = yaml.safe_load(samples[0])
    assert any(c.get("protocol") == protocol for c in sample.get("controllers", [])), \
        f"the README's sample has no {protocol} controller"
    groups = sorted({m["group"] for m in sample.get("measures", [])})
    loaded = parse_config(yaml.safe_dump({**sample, "groups": [{"name": g} for g in groups]}), folder / "sample.yaml")
    assert loaded.model.controllers  # every controller and measure of the sample passed validation

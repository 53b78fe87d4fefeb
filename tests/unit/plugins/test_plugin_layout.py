"""Every registered driver is a folder with the parts DESIGN.md section 10 asks for."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

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
    assert "```yaml" in (folder / "README.md").read_text(), "README needs a sample config"

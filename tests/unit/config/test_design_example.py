"""The example configuration of docs/design.md section 3 (the contract users copy) passes `gateway check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import REPO

DESIGN = REPO / "docs" / "design.md"


def test_design_example_config_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    match = re.search(r"```yaml\n(gateway:.*?)```", DESIGN.read_text(), re.S)
    assert match, "docs/design.md section 3 has no YAML example"
    (tmp_path / "config.yaml").write_text(match.group(1))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "vars_upload_test.py").write_text("def vars_upload_test(data_collect, wizard_api):\n"
                                                              "    return data_collect\n")
    (tmp_path / "scripts" / "on_setpoint.py").write_text("def on_message(topic, payload, wizard_api):\n"
                                                         "    return None\n")
    (tmp_path / "scripts" / "heartbeat.py").write_text("def main(wizard_api):\n    return None\n")
    assert main(["check", "-c", str(tmp_path / "config.yaml")]) == 0, capsys.readouterr().out

"""Ctrl-C in the demo's terminal stops the gateway first and its helpers after it, quietly.

The terminal sends SIGINT to the whole foreground process group: the gateway, its script worker
and the demo's broker. Only the gateway may act on it; it then stops the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tests.integration.gateway_harness import default_ctrl_c


def _demo_folder(tmp_path: Path) -> Path:
    """The committed demo configuration and scripts, on free ports."""
    config = (REPO / "config.yaml").read_text()
    for old in ("5020", "10102", "1883", "8080", "8443", "5502", "4841"):
        new = free_port()
        config = config.replace(f":{old}", f":{new}").replace(f"port: {old}", f"port: {new}")
    (tmp_path / "config.yaml").write_text(config)
    shutil.copytree(REPO / "scripts", tmp_path / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "config.yaml"


@pytest.mark.slow
def test_ctrl_c_stops_the_gateway_before_the_broker_without_a_traceback(tmp_path: Path) -> None:
    config = _demo_folder(tmp_path)

    def own_group_with_default_ctrl_c() -> None:
        os.setpgid(0, 0)  # the test is the terminal: the demo's group gets the SIGINT
        default_ctrl_c()

    process = subprocess.Popen([sys.executable, "-m", "gateway", "demo", "-c", str(config)], cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True, preexec_fn=own_group_with_default_ctrl_c)
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("-> awsiot/test" in line for line in lines[-3:]):
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
        assert any("-> awsiot/test" in line for line in lines), "".join(lines)
        os.killpg(process.pid, signal.SIGINT)
        lines += process.stderr.read().splitlines(keepends=True)
        assert process.wait(30) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = "".join(lines)
    after = text[text.rindex("-> awsiot/test"):]
    assert "stopped;" in after and "Traceback" not in text and "KeyboardInterrupt" not in text, text
    for sign_of_a_helper_gone_first in ("script worker stopped", "connection lost", "disconnected", "refused"):
        assert sign_of_a_helper_gone_first not in after.split("stopped;")[0], after

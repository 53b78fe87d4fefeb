"""The README's demo command works from a clean clone: it sets itself up and publishes.

(The README's test command is what CI runs, so it is proven by every CI run.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import REPO, Subscriber, free_port


def _readme_commands() -> list[str]:
    lines = (REPO / "README.md").read_text().splitlines()[:6]
    return [m.group(1).strip() for line in lines if (m := re.match(r"^\s{4}(make \w+)", line))]


def test_readme_starts_with_the_two_commands() -> None:
    assert _readme_commands() == ["make demo", "make test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_demo_command_from_a_clean_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    ports = {"5020": free_port(), "10102": free_port(), "1883": free_port(), "8080": free_port(), "8443": free_port(),
             "5502": free_port(), "4841": free_port()}
    config = (clone / "config.yaml").read_text()
    for old, new in ports.items():
        config = config.replace(f":{old}", f":{new}").replace(f"port: {old}", f"port: {new}")
    (clone / "config.yaml").write_text(config)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    process = subprocess.Popen(["make", "demo", "DEMO_ARGS=--duration 20"], cwd=clone, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    broker_up = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "mosquitto broker started" in line:
                broker_up.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert broker_up.wait(600), "the demo never started its broker:\n" + "".join(output)
        subscriber = Subscriber(ports["1883"], "awsiot/#", client_id="readme-test")
        try:
            message = subscriber.get(timeout=30)
        finally:
            subscriber.close()
        assert process.wait(120) == 0, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(5)
    text = "".join(output)
    records = json.loads(message.payload)
    assert [r["Device"] for r in records] == ["PLC1", "S7-1200", "MES", "L83", "Q03"]
    assert set(records[0]["Data"]) == {"Temp", "Pressure", "Flow", "PumpOn", "Setpoint"}
    assert set(records[2]["Data"]) == {"OvenTemp", "Batch", "Recipe"}  # the OPC UA server's, by subscription
    assert set(records[3]["Data"]) == {"ConveyorSpeed", "Parts", "Jam"}  # the Logix controller's
    assert set(records[4]["Data"]) == {"PressForce", "Strokes", "Guard"}  # the MELSEC CPU's
    for expected in ("polling PLC1", "polling S7-1200", "polling MES", "polling L83", "polling Q03",
                     "web UI on https://127.0.0.1:", "-> awsiot/test", "modbus slave: listening on 127.0.0.1:",
                     "opcua server: listening on opc.tcp://127.0.0.1:", "scada: Sparkplug births sent",
                     "stopped;"):
        assert expected in text, f"'{expected}' missing from the demo's console:\n{text}"
    assert (clone / ".venv" / "bin" / "gateway").exists()
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert changed.splitlines() == [" M config.yaml"], changed  # the test's own port edits; the demo wrote its copy
    assert (clone / "state" / "demo" / "config.yaml").exists()

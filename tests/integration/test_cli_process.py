"""`gateway run` as a real process: it delivers, and Ctrl-C stops it cleanly within 2 s."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.demo.broker import MosquittoBroker
from tests.conftest import free_port
from tests.integration.gateway_harness import mqtt_cloud, write_config


def _wait_for_line(process: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"'{text}' never appeared; output:\n{''.join(lines)}")


def test_ctrl_c_stops_within_two_seconds_and_keeps_the_outbox(tmp_path: Path, broker: MosquittoBroker) -> None:
    config = {
        "gateway": {"name": "proc", "data_dir": "state"},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "Level", "controller": "Sim", "group": "g", "address": "ramp/10", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 0.2}],
        "clouds": [mqtt_cloud(broker.port)],
        "publish": [{"name": "upload", "cloud": "default", "topic": "awsiot/test", "qos": 1, "groups": ["g"],
                     "function": "vars_upload_test", "script": "scripts/vars_upload_test.py"}],
    }
    config["gateway"]["web"] = {"host": "127.0.0.1", "port": free_port()}  # type: ignore[index]
    path = write_config(tmp_path, config)
    process = subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(path)], cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(process, "delivered", 20)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(10)
        elapsed = time.monotonic() - started
        rest = process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    print(f"stopped {elapsed:.2f} s after Ctrl-C")
    assert "stopped;" in rest and "Traceback" not in rest
    with sqlite3.connect(tmp_path / "state" / "outbox.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_check_exit_status_from_the_shell(tmp_path: Path) -> None:
    good = write_config(tmp_path / "good", {"groups": [{"name": "g"}]})
    assert subprocess.run([sys.executable, "-m", "gateway", "check", "-c", str(good)]).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups: [{name: g, upload_interval: -1}]\n")
    result = subprocess.run([sys.executable, "-m", "gateway", "check", "-c", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == "groups[0].upload_interval: Input should be greater than 0 (line 1)\n"

"""`gateway run` as a real process: it delivers, and Ctrl-C stops it cleanly within 2 s."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gateway.demo.broker import MosquittoBroker
from gateway.scripting.protocol import dump, load
from tests.conftest import free_port
from tests.integration.gateway_harness import default_ctrl_c, script_rule, simulated_gateway, write_config


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


def _config(broker: MosquittoBroker) -> dict[str, Any]:
    rule = script_rule("upload", "awsiot/test", "vars_upload_test.py", function="vars_upload_test")
    return simulated_gateway("proc", broker.port, [rule], measure="Level", address="ramp/10")


def _stop_with_ctrl_c(
    tmp_path: Path, config: dict[str, Any], wait_for: str, settle: float = 0.0
) -> tuple[subprocess.Popen[str], float, str]:
    config["gateway"]["web"] = {"host": "127.0.0.1", "port": free_port()}
    path = write_config(tmp_path, config, {"hang.py": "import time\ndef main(data, api):\n    time.sleep(3600)\n"})
    process = subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(path)], cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True, preexec_fn=default_ctrl_c)
    try:
        _wait_for_line(process, wait_for, 20)
        time.sleep(settle)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(10)
        elapsed = time.monotonic() - started
        rest = process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
    return process, elapsed, rest


def test_ctrl_c_stops_within_two_seconds_and_keeps_the_outbox(tmp_path: Path, broker: MosquittoBroker) -> None:
    process, elapsed, rest = _stop_with_ctrl_c(tmp_path, _config(broker), "delivered")
    assert process.returncode == 0, rest
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    print(f"stopped {elapsed:.2f} s after Ctrl-C")
    assert "stopped;" in rest and "Traceback" not in rest
    with sqlite3.connect(tmp_path / "state" / "outbox.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_ctrl_c_does_not_wait_for_a_hung_script(tmp_path: Path, broker: MosquittoBroker) -> None:
    config = _config(broker)
    config["publish"][0].update(function="main", script="scripts/hang.py")
    process, elapsed, rest = _stop_with_ctrl_c(tmp_path, config, "polling", settle=1.0)  # uploads every 0.2 s
    assert process.returncode == 0, rest
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    time.sleep(0.2)
    assert not _script_workers_in(tmp_path), "a script worker outlived the gateway"


def _script_workers_in(folder: Path) -> list[int]:
    """Return the pids of script workers whose working directory is ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (b"gateway.scripting.worker" in (entry / "cmdline").read_bytes()
                    and (entry / "cwd").resolve() == folder.resolve()):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def test_check_exit_status_from_the_shell(tmp_path: Path) -> None:
    good = write_config(tmp_path / "good", {"groups": [{"name": "g"}]})
    assert subprocess.run([sys.executable, "-m", "gateway", "check", "-c", str(good)]).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups: [{name: g, upload_interval: -1}]\n")
    result = subprocess.run([sys.executable, "-m", "gateway", "check", "-c", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == "groups[0].upload_interval: must be more than 0 (line 1)\n"


SLOW_UPLOAD = """
import time
def main(data_collect, wizard_api):
    time.sleep(0.1)
    wizard_api.awsiot_publish("awsiot/test", {"ts": data_collect["timestamp"]}, 1)
"""


def test_sigterm_to_the_process_group_stops_the_gateway_before_its_script_worker(
        tmp_path: Path, broker: MosquittoBroker) -> None:
    """systemd's default KillMode signals the whole group: the worker must not die under the
    upload in flight; the gateway finishes or drops it, then stops the worker itself."""
    config = _config(broker)
    config["gateway"]["web"] = {"host": "127.0.0.1", "port": free_port()}
    config["publish"][0].update(function="main", script="scripts/slow.py")
    config["groups"][0]["upload_interval"] = 0.05  # with a 0.1 s script, an upload is always in flight
    path = write_config(tmp_path, config, {"slow.py": SLOW_UPLOAD})
    process = subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(path)], cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_line(process, "delivered", 20)
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
        rest = process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, rest
    assert "stopped;" in rest
    for sign_of_a_lost_upload in ("script worker stopped", "call failed", "checkpoint at close failed", "Traceback"):
        assert sign_of_a_lost_upload not in rest, rest
    time.sleep(0.2)
    assert not _script_workers_in(tmp_path), "a script worker outlived the gateway"


def test_the_script_worker_outlives_signals_meant_for_its_group() -> None:
    """Ctrl-C and SIGTERM reach the worker too when they are sent to the group: it keeps answering
    until the gateway closes its pipe."""
    worker = subprocess.Popen([sys.executable, "-I", "-m", "gateway.scripting.worker"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_ctrl_c)
    assert worker.stdin is not None and worker.stdout is not None
    try:
        worker.stdin.write(dump({"op": "ping", "id": 1}))
        worker.stdin.flush()
        assert load(worker.stdout.readline())["id"] == 1  # up, its signal handling set
        worker.send_signal(signal.SIGINT)
        worker.send_signal(signal.SIGTERM)
        worker.stdin.write(dump({"op": "ping", "id": 2}))
        worker.stdin.flush()
        assert load(worker.stdout.readline()) == {"op": "result", "error": None, "id": 2}
        worker.stdin.close()
        assert worker.wait(10) == 0
        assert b"Traceback" not in (worker.stderr.read() if worker.stderr else b"")
    finally:
        if worker.poll() is None:
            worker.kill()

"""Uploads built to exhaust memory: refused early, with a short message, and the gateway's own
process grows by no more than 32 MiB for any of them (a gateway has 512 MB in all)."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from gateway.device_supervisor.measure_csv import COLUMNS
from gateway.device_supervisor.migrate import MAX_EXPORT_BYTES, MAX_EXPORT_NODES
from gateway.web.routes_measures import MAX_CSV_BYTES
from gateway.web.routes_settings import MAX_BUNDLE_BYTES, MAX_CONFIG_BYTES, MAX_CONFIG_NODES
from tests.conftest import free_port
from tests.integration.gateway_harness import default_ctrl_c, script_rule, simulated_gateway, write_config
from tests.web.conftest import PASSWORD

MAX_GROWTH = 32 * 2**20
CSV_HEADER = (",".join(COLUMNS[:8]) + "\n").encode()


@dataclass
class GatewayProcess:
    """A `gateway run` process with its web UI, logged in."""

    process: subprocess.Popen[bytes]
    url: str
    session: requests.Session
    config_path: Path

    def resident(self, field: str = "VmRSS") -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith(field + ":")).split()[1]) * 1024

    def upload_growth(self, path: str, **kwargs: object) -> tuple[requests.Response, int]:
        """POST an upload; return the answer and how far the resident memory rose above where it was."""
        before, peak_before = self.resident(), self.resident("VmHWM")
        highest = before
        done = threading.Event()

        def sample() -> None:
            nonlocal highest
            while not done.is_set():
                highest = max(highest, self.resident())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            answer = self.session.post(self.url + "/api/v1" + path, timeout=120, **kwargs)  # type: ignore[arg-type]
        finally:
            done.set()
            sampler.join()
        peak_after = self.resident("VmHWM")
        if peak_after > peak_before:
            highest = max(highest, peak_after)
        return answer, highest - before


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[GatewayProcess]:
    folder = tmp_path
    # no broker: the cloud stays disconnected, which changes nothing here
    config = simulated_gateway("uploads", free_port(), [script_rule("up", "t", "vars_upload_test.py",
                                                                    "vars_upload_test")])
    port = free_port()
    config["gateway"]["web"] = {"host": "127.0.0.1", "port": port, "tls": False}
    path = write_config(folder, config)
    process = subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(path)], cwd=folder,
                               stderr=subprocess.DEVNULL, preexec_fn=default_ctrl_c)
    try:
        url = f"http://127.0.0.1:{port}"
        session = requests.Session()
        code_file = folder / "state" / "setup-code"
        for _ in range(200):
            if code_file.exists():
                try:
                    answer = session.post(url + "/api/v1/auth/setup", json={
                        "code": code_file.read_text().strip(), "password": PASSWORD}, timeout=5)
                    break
                except requests.ConnectionError:
                    pass
            time.sleep(0.05)
        session.headers["X-CSRF-Token"] = answer.json()["csrf"]
        time.sleep(1.0)  # let start-up settle before measuring
        yield GatewayProcess(process, url, session, path)
    finally:
        process.kill()
        process.wait()


def _fill(unit: bytes, cap: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    return head + unit * ((cap - len(head) - len(tail)) // len(unit)) + tail


UPLOADS = {
    "config.yaml of junk: [{}, {}, ...]": ("/config/import", lambda: {
        "data": _fill(b"{}, ", 256 * 1024, b"junk: [", b"{}]\n"), "headers": {"Content-Type": "application/yaml"}}),
    "config.yaml of [{}, {}, ...] at its cap": ("/config/import", lambda: {
        "data": _fill(b"{}, ", MAX_CONFIG_BYTES, b"junk: [", b"{}]\n"),
        "headers": {"Content-Type": "application/yaml"}}),
    "config.yaml of [{}, {}, ...] just within its node count": ("/config/import", lambda: {
        "data": b"junk: [" + b"{}, " * (MAX_CONFIG_NODES // 2 - 10) + b"{}]\n",
        "headers": {"Content-Type": "application/yaml"}}),
    "config.yaml nested 20,000 deep": ("/config/import", lambda: {
        "data": b"a: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "headers": {"Content-Type": "application/yaml"}}),
    "Device Supervisor export of {},{},... at its cap": ("/config/import-ds", lambda: {
        "files": {"file": ("x.cfg", _fill(b"{},", MAX_EXPORT_BYTES, b'{"controllers": [', b'{}], "measures": []}'))}}),
    "Device Supervisor export of {},{},... just within its value count": ("/config/import-ds", lambda: {
        "files": {"file": ("x.cfg", b'{"controllers": [' + b"{}," * (MAX_EXPORT_NODES // 2 - 10)
                           + b'{}], "measures": []}')}}),
    "Device Supervisor export shaped wrong": ("/config/import-ds", lambda: {
        "files": {"file": ("x.cfg", _fill(b'{"a": 1},', 200_000, b'{"controllers": [', b'{}], "measures": []}'))}}),
    "measure.csv of short bad rows at its cap": ("/measures/import", lambda: {
        "data": _fill(b"x,PLC1,g,periodic,,INT,40001,ro,\n", MAX_CSV_BYTES, CSV_HEADER),
        "headers": {"Content-Type": "text/csv"}}),
    "measure.csv with one field of 8 MiB": ("/measures/import", lambda: {
        "data": _fill(b"x", MAX_CSV_BYTES, CSV_HEADER + b'"', b'"\n'), "headers": {"Content-Type": "text/csv"}}),
    "thing bundle of 5,200 small PEM entries": ("/clouds/default/bundle", lambda: {
        "files": {"bundle": ("b.zip", _many_things(2600))}}),
}


def _many_things(count: int) -> bytes:
    buffer = io.BytesIO()
    pem = b"-----BEGIN CERTIFICATE-----\n" + b"A" * 20_000 + b"\n-----END CERTIFICATE-----\n"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(count):
            for name in ("cert.pem", "privkey.pem"):
                archive.writestr(f"thing-{index}/{name}", pem)
    data = buffer.getvalue()
    assert len(data) <= MAX_BUNDLE_BYTES, len(data)
    return data


@pytest.mark.parametrize(("path", "body"), UPLOADS.values(), ids=UPLOADS.keys())
def test_an_upload_built_to_exhaust_memory_is_refused_cheaply(gateway_process: GatewayProcess, path: str,
                                                             body: object) -> None:
    config_before = gateway_process.config_path.read_text()
    answer, growth = gateway_process.upload_growth(path, **body())  # type: ignore[operator]
    print(f"{path}: {answer.status_code}, resident memory +{growth / 2**20:.1f} MiB: {answer.text[:150]}")
    assert answer.status_code in (400, 413, 422), answer.text[:500]
    assert len(answer.text) < 16_000  # a short message, not every thing's name or every problem
    assert growth <= MAX_GROWTH, f"+{growth / 2**20:.1f} MiB"
    assert gateway_process.session.get(gateway_process.url + "/api/v1/status", timeout=5).status_code == 200
    assert gateway_process.config_path.read_text() == config_before  # nothing was changed

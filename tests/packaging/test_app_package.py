"""The app package for this machine's architecture: built, installed offline into a temporary
prefix on its own interpreter, started without systemd, ready, publishing; then upgraded to a
rebuilt package with the configuration and the undelivered outbox kept, and a broken upgrade
rolled back. The aarch64 package is installed and checked on an emulated Cortex-A53."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.demo.broker import MosquittoBroker
from tests.conftest import Subscriber, free_port
from tests.packaging.harness import EmulatedDevice, broken_copy, build_package, require_emulation, unpack

pytestmark = pytest.mark.slow


def _run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=300)


def _ready(port: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # the package serves its UI over HTTPS with the certificate it made: any certificate will do here
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/api/v1/health", timeout=2,
                                        context=ssl._create_unverified_context()) as answer:
                if b'"ready"' in answer.read():
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def _outbox_rows(data: Path) -> int:
    with sqlite3.connect(data / "state" / "outbox.db") as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


@pytest.fixture
def install_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The install locations, and an environment with no Python or pip settings of this machine's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(PREFIX=str(tmp_path / "app"), DATA=str(tmp_path / "data"), LOGS=str(tmp_path / "log"),
               NO_SYSTEMD="1", PYTHONPATH=str(tmp_path / "nothing"))
    yield env
    start = tmp_path / "app" / "current" / "start.sh"
    if start.exists():  # a failed test may leave it running
        subprocess.run([str(start), "stop"], env=env, capture_output=True)


def test_build_install_offline_run_and_upgrade_keeping_config_and_outbox(tmp_path: Path,
                                                                       install_env: dict[str, str]) -> None:
    package, _log = build_package(platform.machine(), tmp_path / "dist")
    assert re.fullmatch(rf"plc-edge-gateway-\d+\.\d+\.\d+-{platform.machine()}\.tar\.gz", package.name)
    first = unpack(package, tmp_path / "first")
    manifest = (first / "MANIFEST").read_text()
    assert "sha256 " in manifest and "  runtime/lib/python3/dist-packages/gateway/cli.py\n" in manifest
    assert re.search(r"^interpreter bin/python3\.11 \d+ 256$", manifest, re.M)
    assert {"install.sh", "uninstall.sh", "start.sh", "plc-edge-gateway.service", "config.yaml"} <= {
        p.name for p in first.iterdir()}

    too_deep = tmp_path / ("p" * 200) / "app"
    refused = _run(first / "install.sh", {**install_env, "PREFIX": str(too_deep)})
    assert refused.returncode == 1 and "PREFIX is too long" in refused.stderr, refused.stdout + refused.stderr
    assert not list((too_deep / "releases").iterdir())  # nothing half-installed

    installed = _run(first / "install.sh", {**install_env, "START": "0"})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    data, prefix = Path(install_env["DATA"]), Path(install_env["PREFIX"])
    config = yaml.safe_load((data / "config.yaml").read_text())
    web_port, broker_port = free_port(), free_port()
    config["gateway"]["web"] = {"host": "127.0.0.1", "port": web_port}
    config["clouds"][0]["port"] = broker_port
    config["groups"][0]["upload_interval"] = 0.5
    (data / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    config_text = (data / "config.yaml").read_text()

    broker = MosquittoBroker(broker_port)
    broker.start()
    subscriber = Subscriber(broker_port, "awsiot/#", client_id="package-test")
    try:
        started = _run(prefix / "current" / "start.sh", install_env, "start")
        assert started.returncode == 0, started.stderr
        assert _ready(web_port), (Path(install_env["LOGS"]) / "gateway.log").read_text()[-3000:]
        assert subscriber.get(20).topic == "awsiot/test"
    finally:
        subscriber.close()
        broker.close()
    deadline = time.monotonic() + 20
    while _outbox_rows(data) < 5 and time.monotonic() < deadline:  # the broker is gone: uploads wait
        time.sleep(0.5)
    waiting = _outbox_rows(data)
    assert waiting >= 5

    second = unpack(build_package(platform.machine(), tmp_path / "dist2")[0], tmp_path / "second")
    upgraded = _run(second / "install.sh", install_env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "is running and ready" in upgraded.stdout and "previous release kept" in upgraded.stdout
    assert f"https://<this gateway's address>:{web_port}/ (its certificate's SHA-256 fingerprint: " in upgraded.stdout
    assert len(list((prefix / "releases").iterdir())) == 2
    assert (data / "config.yaml").read_text() == config_text
    assert _outbox_rows(data) >= waiting  # nothing undelivered was lost in the upgrade

    broker = MosquittoBroker(broker_port)
    broker.start()
    subscriber = Subscriber(broker_port, "awsiot/#", client_id="package-test-2")
    try:
        deadline = time.monotonic() + 30
        while _outbox_rows(data) > 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _outbox_rows(data) <= 2  # the backlog was delivered after the upgrade
    finally:
        subscriber.close()
        broker.close()
    broken = broken_copy(second, tmp_path / "broken")
    refused = _run(broken / "install.sh", {**install_env, "READY_TIMEOUT": "15"})
    assert refused.returncode == 1 and "rolling back to" in refused.stdout, refused.stdout + refused.stderr
    assert os.readlink(prefix / "current").endswith(re.search(r"build (\d+)", (second / "MANIFEST").read_text())[1])
    assert _ready(web_port)  # the previous version runs again

    removed = _run(second / "uninstall.sh", install_env)
    assert removed.returncode == 0 and not prefix.exists() and (data / "config.yaml").exists()


def test_the_aarch64_package_installs_and_checks_on_an_emulated_cortex_a53(tmp_path: Path) -> None:
    require_emulation("aarch64")
    device = EmulatedDevice.make(tmp_path / "root", "aarch64")
    package, _log = build_package("aarch64", tmp_path / "dist")
    unpack(package, device.path("/tmp/package"))
    folder = package.name.removesuffix(".tar.gz")
    installed = device.run(f"cd /tmp/package/{folder} && NO_SYSTEMD=1 START=0 ./install.sh")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    current = "/var/user/app/plc-edge-gateway/current/bin"
    checked = device.run(f"{current}/gateway check -c /var/user/data/dbhome/plc-edge-gateway/config.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    machine = device.run(f"{current}/python -c 'import platform; print(platform.machine())'")
    assert machine.stdout.strip() == "aarch64"

"""The app package for this machine's architecture: built, installed offline into a temporary
prefix (pip may not reach the registry), started without systemd, ready, publishing; then
upgraded to a rebuilt package with the configuration and the undelivered outbox kept."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.demo.broker import MosquittoBroker
from tests.conftest import REPO, Subscriber, free_port

pytestmark = pytest.mark.slow


def _build(out: Path) -> Path:
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "build_app.py"), "--arch", platform.machine(),
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    [package] = out.glob("*.tar.gz")
    return package


def _unpack(package: Path, folder: Path) -> Path:
    with tarfile.open(package) as archive:
        archive.extractall(folder, filter="data")
    [root] = folder.iterdir()
    return root


def _run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=300)


def _ready(port: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as answer:
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
def offline_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment whose pip cannot reach any registry, and the install locations."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_INDEX_URL",
                                                            "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")}
    env.update(PREFIX=str(tmp_path / "app"), DATA=str(tmp_path / "data"), LOGS=str(tmp_path / "log"),
               NO_SYSTEMD="1", PIP_INDEX_URL="http://127.0.0.1:9/nothing", PIP_NO_CACHE_DIR="1",
               PIP_CONFIG_FILE=os.devnull, PYTHON=shutil.which("python3") or sys.executable)
    yield env
    start = tmp_path / "app" / "current" / "start.sh"
    if start.exists():  # a failed test may leave it running
        subprocess.run([str(start), "stop"], env=env, capture_output=True)


def test_build_install_offline_run_and_upgrade_keeping_config_and_outbox(tmp_path: Path,
                                                                       offline_env: dict[str, str]) -> None:
    package = _build(tmp_path / "dist")
    assert re.fullmatch(rf"plc-edge-gateway-\d+\.\d+\.\d+-{platform.machine()}\.tar\.gz", package.name)
    first = _unpack(package, tmp_path / "first")
    manifest = (first / "MANIFEST").read_text()
    assert "sha256 " in manifest and "wheels/plc_edge_gateway-" in manifest
    assert {"install.sh", "uninstall.sh", "start.sh", "plc-edge-gateway.service", "config.yaml"} <= {
        p.name for p in first.iterdir()}

    installed = _run(first / "install.sh", {**offline_env, "START": "0"})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    data, prefix = Path(offline_env["DATA"]), Path(offline_env["PREFIX"])
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
        started = _run(prefix / "current" / "start.sh", offline_env, "start")
        assert started.returncode == 0, started.stderr
        assert _ready(web_port), (Path(offline_env["LOGS"]) / "gateway.log").read_text()[-3000:]
        assert subscriber.get(20).topic == "awsiot/test"
    finally:
        subscriber.close()
        broker.close()
    deadline = time.monotonic() + 20
    while _outbox_rows(data) < 5 and time.monotonic() < deadline:  # the broker is gone: uploads wait
        time.sleep(0.5)
    waiting = _outbox_rows(data)
    assert waiting >= 5

    second = _unpack(_build(tmp_path / "dist2"), tmp_path / "second")
    upgraded = _run(second / "install.sh", offline_env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "is running and ready" in upgraded.stdout and "previous release kept" in upgraded.stdout
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
    broken = _broken_copy(second, tmp_path / "broken")
    refused = _run(broken / "install.sh", {**offline_env, "READY_TIMEOUT": "15"})
    assert refused.returncode == 1 and "rolling back to" in refused.stdout, refused.stdout + refused.stderr
    assert os.readlink(prefix / "current").endswith(re.search(r"build (\d+)", (second / "MANIFEST").read_text())[1])
    assert _ready(web_port)  # the previous version runs again

    removed = _run(second / "uninstall.sh", offline_env)
    assert removed.returncode == 0 and not prefix.exists() and (data / "config.yaml").exists()


@pytest.mark.parametrize("arch", ["aarch64", "armv7l"])
def test_packages_for_the_gateways_arm_cpus_build_or_name_what_has_no_wheel(arch: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "build_app.py"), "--arch", arch,
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    if done.returncode == 0:
        [package] = tmp_path.glob("*.tar.gz")
        assert package.name.endswith(f"-{arch}.tar.gz")
        with tarfile.open(package) as archive:
            wheels = [n for n in archive.getnames() if n.endswith(".whl")]
        assert any(arch in name for name in wheels)  # compiled dependencies are the target's
    else:
        print(done.stderr)  # the report of this run: which dependencies have no wheel for the target
        assert re.fullmatch(rf"error: no wheel for {arch} \(Python 3\.11\) of: [\w.=-]+(, [\w.=-]+)*\n", done.stderr)
        assert "Traceback" not in done.stderr


def _broken_copy(package: Path, folder: Path) -> Path:
    """A copy of an unpacked package whose gateway exits at once: an upgrade that cannot start."""
    shutil.copytree(package, folder)
    [wheel] = (folder / "wheels").glob("plc_edge_gateway-*.whl")
    patched = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "gateway/service.py":  # `gateway check` passes, `gateway run` fails
                data = data.replace(b"\nlog = ", b"\nraise SystemExit('broken on purpose')\nlog = ", 1)
            target.writestr(item, data)
    patched.replace(wheel)
    manifest = (folder / "MANIFEST").read_text()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    manifest = re.sub(rf"sha256 \w+  (wheels/{re.escape(wheel.name)})", rf"sha256 {digest}  \1", manifest)
    (folder / "MANIFEST").write_text(re.sub(r"build (\d+)", r"build \g<1>9", manifest))
    return folder

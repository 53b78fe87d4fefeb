"""The armv7l package on an emulated IG902: built on this machine, installed with its own
install.sh into an older Debian (bullseye, glibc 2.31) that has no Python and only busybox's
tools, and run under qemu as a Cortex-A8 against a Modbus simulator and a Mosquitto broker on
this machine's loopback. Then upgraded, and a broken upgrade rolled back.

What it measured (start time, memory in the guest's own pages, emulated CPU per tag) is printed
and kept in test-artifacts/arm-device.txt; qemu's speed is not the device's.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gateway.demo.broker import MosquittoBroker
from tests.bench.tags import modbus_tags
from tests.conftest import REPO, Subscriber, free_port
from tests.packaging.harness import (
    EmulatedDevice,
    broken_copy,
    build_package,
    bytes_written,
    cpu_seconds,
    guest_resident_bytes,
    interpreter_of,
    require_emulation,
    unpack,
)

pytestmark = pytest.mark.slow

PREFIX = "/var/user/app/plc-edge-gateway"
DATA = "/var/user/data/dbhome/plc-edge-gateway"
LOGS = "/var/user/log/plc-edge-gateway"
TAGS = 200
MiB = 1 << 20
HUNGRY = "def main():\n    hoard = 'x' * (400 * 1024 * 1024)\n    return len(hoard)\n"
REPORT = REPO / "test-artifacts" / "arm-device.txt"


@dataclass
class Installed:
    device: EmulatedDevice
    package: Path
    output: str
    seconds: float

    @property
    def release(self) -> str:
        return os.readlink(self.device.path(f"{PREFIX}/current"))


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> EmulatedDevice:
    require_emulation("armv7l")
    return EmulatedDevice.make(tmp_path_factory.mktemp("device") / "root")


@pytest.fixture(scope="module")
def installed(device: EmulatedDevice, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    package, build_log = build_package("armv7l", tmp_path_factory.mktemp("dist"))
    _report("build (the first of this run)", build_log.strip().splitlines()[-1])
    unpack(package, device.path("/tmp/first"))
    began = time.monotonic()
    done = device.run(f"cd /tmp/first/{package.name.removesuffix('.tar.gz')} && NO_SYSTEMD=1 START=0 ./install.sh")
    seconds = time.monotonic() - began
    assert done.returncode == 0, done.stdout + done.stderr
    _report("install under emulation", f"{seconds:.0f} s")
    return Installed(device, package, done.stdout, seconds)


def test_the_package_fits_the_flash_of_an_ig502(installed: Installed) -> None:
    tarball = installed.package.stat().st_size
    release_kb = int(installed.device.run(f"du -sk {installed.release}").stdout.split()[0])
    _report("sizes", f"package {tarball / MiB:.1f} MiB, installed release {release_kb / 1024:.1f} MiB")
    assert tarball <= 30 * MiB
    assert release_kb <= 90 * 1024


def test_installs_offline_on_a_device_without_python_and_with_an_older_glibc(installed: Installed) -> None:
    device = installed.device
    assert not list(device.path("/usr/bin").glob("python*"))  # the firmware brings no Python
    assert device.path("/lib/arm-linux-gnueabihf/libc-2.31.so").exists()
    assert "first install: the default configuration goes to" in installed.output
    loader = interpreter_of(device.path(installed.release) / "bin" / "python3.11")
    assert loader == f"{installed.release}/lib/ld-linux-armhf.so.3"  # its own glibc, not the device's 2.31
    assert os.access(device.path(loader), os.X_OK)  # qemu would run it anyway; an ARM kernel would refuse
    checked = device.run(f"{PREFIX}/current/bin/gateway check -c {DATA}/config.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # every driver's and data service's library is in the package and imports on armv7 (asyncua only
    # when OPC UA connects or serves; its server's standard address space from the zip of its bytecode;
    # protobuf, pure Python there, for Sparkplug)
    drivers = device.run(f"{PREFIX}/current/bin/python -c 'import gateway_plugins.opcua.session, "
                         "gateway_plugins.s7.driver, gateway_plugins.modbus.driver, gateway_plugins.modbus.slave, "
                         "gateway_plugins.opcua.server_space, asyncua.server.standard_address_space, "
                         "gateway.cloud.sparkplug'")
    assert drivers.returncode == 0, drivers.stdout + drivers.stderr
    version = device.run(f"{PREFIX}/current/bin/python -c 'import platform, ssl, sqlite3; "
                         "print(platform.machine(), platform.libc_ver()[1], ssl.OPENSSL_VERSION)'")
    assert version.stdout.split()[:2] == ["armv7l", "2.36"], version.stdout + version.stderr


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A Modbus TCP PLC of TAGS values and a Mosquitto broker on this machine's loopback."""
    modbus_port, broker_port = free_port(), free_port()
    simulator = subprocess.Popen([sys.executable, "-m", "tests.bench.sim_process", "modbus", str(modbus_port),
                                  str(TAGS)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    broker = MosquittoBroker(broker_port)
    broker.start()
    try:
        assert simulator.stdout is not None and simulator.stdout.readline().strip() == "ready"
        yield modbus_port, broker_port
    finally:
        broker.close()
        simulator.terminate()
        simulator.wait(10)


def test_collects_and_publishes_on_an_emulated_cortex_a8(installed: Installed, plant: tuple[int, int]) -> None:
    device, release = installed.device, installed.release
    modbus_port, broker_port = plant
    _configure(device, modbus_port, broker_port, free_port())
    shadow = device.path("/tmp/shadow/gateway")  # what a device's PYTHONPATH could hold
    shadow.mkdir(parents=True, exist_ok=True)
    (shadow / "__init__.py").write_text("raise SystemExit('the device PYTHONPATH was used')\n")
    hostile = {"LD_LIBRARY_PATH": "/lib/arm-linux-gnueabihf:/usr/lib/arm-linux-gnueabihf",
               "LD_PRELOAD": "/lib/arm-linux-gnueabihf/libz.so.1", "PYTHONPATH": "/tmp/shadow",
               "PYTHONHOME": "/usr", "LANG": "C.UTF-8"}
    subscriber = Subscriber(broker_port, "awsiot/#", client_id="arm-device-test")
    began = time.monotonic()
    started = device.run(f"{PREFIX}/current/start.sh start", env=hostile)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        first = subscriber.get(180)
        _report("start to the first published message", f"{time.monotonic() - began:.1f} s")
        [record] = json.loads(first.payload)
        assert record["Device"] == "PLC1" and len(record["Data"]) == TAGS
        assert record["Data"]["t2"] == 2 and record["Data"]["t7"] == 7.0  # the values the simulator holds

        log = device.path(f"{LOGS}/gateway.log")
        deadline = time.monotonic() + 120
        while "used more than 256 MiB" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(1)
        text = log.read_text()
        assert "does not enforce the script worker's address-space limit" in text  # qemu-user ignores RLIMIT_AS
        assert "function hungry failed: used more than 256 MiB of memory" in text, text[-3000:]

        [main] = device.processes("-m gateway run")
        workers = _wait_for(lambda: device.processes("gateway.scripting.worker"), 120)
        for pid in (main, *workers):
            foreign = {f for f in device.mapped_files(pid) if not f.startswith((release + "/", DATA + "/"))}
            assert foreign == set(), f"pid {pid} maps files that are not the release's: {sorted(foreign)}"

        before, written, clock = cpu_seconds([main, *workers]), bytes_written([main, *workers]), time.monotonic()
        received = _drain(subscriber, 20)
        spent, elapsed = cpu_seconds([main, *workers]) - before, time.monotonic() - clock
        written = bytes_written([main, *workers]) - written
        assert received >= 10  # uploads every second keep coming after the worker was restarted
        main_rss, worker_rss = guest_resident_bytes(main), guest_resident_bytes(workers[0])
        _report("guest memory (RSS in the guest's pages)",
                f"main {main_rss / MiB:.1f} MiB, worker {worker_rss / MiB:.1f} MiB")
        _report("emulated CPU per polled tag (qemu on this machine, not a device)",
                f"{spent / (TAGS * elapsed) * 1e6:.0f} us ({spent / elapsed * 100:.0f}% of a core for {TAGS} tags/s)")
        _report("storage writes (outbox, logs) with one upload a second",
                f"{written / elapsed / 1024:.0f} KiB/s, {written / elapsed * 86400 / 2**30:.2f} GiB a day")
    finally:
        subscriber.close()
        stopped = device.run(f"{PREFIX}/current/start.sh stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert device.processes("python3.11") == []


def test_upgrades_and_rolls_back_a_broken_upgrade_on_the_device(installed: Installed,
                                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    device = installed.device
    _configure(device, free_port(), free_port(), free_port())  # nothing to talk to: it runs all the same
    first = installed.release
    package, _log = build_package("armv7l", tmp_path_factory.mktemp("dist2"))
    second = unpack(package, device.path("/tmp/second"))
    broken_copy(second, device.path("/tmp/broken"))
    try:
        upgraded = device.run(f"cd /tmp/second/{second.name} && NO_SYSTEMD=1 ./install.sh")
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        assert "is running and ready" in upgraded.stdout
        new = installed.release
        assert new != first and len(list(device.path(f"{PREFIX}/releases").iterdir())) == 2

        refused = device.run("cd /tmp/broken && NO_SYSTEMD=1 READY_TIMEOUT=60 ./install.sh")
        assert refused.returncode == 1 and "rolling back to" in refused.stdout, refused.stdout + refused.stderr
        assert f"upgrade rolled back: {new} runs again" in refused.stderr
        assert installed.release == new
        assert device.run(f"{PREFIX}/current/start.sh status").stdout.strip() == "running"
        assert device.processes("-m gateway run")  # the previous version runs again
    finally:
        device.run(f"{PREFIX}/current/start.sh stop")
    assert device.processes("python3.11") == []


def _configure(device: EmulatedDevice, modbus_port: int, broker_port: int, web_port: int) -> None:
    measures = [{"name": p.name, "controller": "PLC1", "group": "default", "address": p.address,
                 "type": str(p.dtype)} for p in modbus_tags(TAGS)]
    config = {
        "gateway": {"name": "ig902", "data_dir": "./state", "web": {"host": "127.0.0.1", "port": web_port}},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}",
                         "sample_period": 1.0, "args": {"unit_id": 1}}],
        "measures": measures,
        "groups": [{"name": "default", "upload_interval": 1}],
        "clouds": [{"name": "broker", "type": "mqtt", "host": "127.0.0.1", "port": broker_port,
                    "client_id": "ig902"}],
        "publish": [{"name": "upload", "cloud": "broker", "topic": "arm/test", "qos": 1, "source": "group",
                     "groups": ["default"], "function": "vars_upload_test", "script": "scripts/vars_upload_test.py"}],
        "functions": [{"name": "hungry", "mode": "startup", "script": "scripts/hungry.py"}],
    }
    device.path(f"{DATA}/scripts/hungry.py").write_text(HUNGRY)
    device.path(f"{DATA}/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _wait_for(found: Callable[[], list[int]], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pids := found():
            return pids
        time.sleep(1)
    raise AssertionError("no such process")


def _drain(subscriber: Subscriber, seconds: float) -> int:
    count, deadline = 0, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            subscriber.get(left)
        except queue.Empty:
            break
        count += 1
    return count


def _report(what: str, value: str) -> None:
    line = f"{what}: {value}"
    print(line)
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as report:
        report.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

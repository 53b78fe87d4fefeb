"""End-to-end benchmark: the real gateway (``gateway run``: main process and script worker) polling
Modbus PLCs served by other processes every second, a Device Supervisor-style script publishing
each whole group (``scripts/vars_upload_test.py``, one group per PLC, every second), the outbox,
and a real Mosquitto at QoS 1.

    python -m tests.bench.bench_end_to_end [--scenarios 1x1000,1x10000,2x50000,10x10000]
                                           [--seconds 20] [--baseline REV]     (or: make bench)

For each scenario it prints polled and delivered tags/s, the gateway's CPU per polled tag (main
process and worker, from /proc), their RSS, the start-up time (process start to the first
completed poll of every PLC) and the age of values at delivery, p50 and p99 (one tag in 500 is a
clock the simulator keeps at the time), and what a change saved in the admin UI costs: a controller's
timeout (until that PLC is polled again) and a measure's unit (until every PLC is polled again).
``--baseline REV`` runs the same scenarios, in the same run, on a git worktree of REV in its own
virtual environment (made once under build/bench/); ``--thingsboard`` names the scenarios also run
on ThingsBoard IoT Gateway 3.8.5 (see :mod:`tests.bench.thingsboard`).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import yaml

from gateway.demo.broker import MosquittoBroker
from tests.bench.counting import ValueCounter, stop
from tests.bench.tags import CLOCK_EVERY, clock_age, plant_tags
from tests.bench.thingsboard import VERSION as TB_VERSION
from tests.bench.thingsboard import TelemetryCounter, start_thingsboard, thingsboard_python, write_thingsboard_config
from tests.conftest import REPO, free_port

SCENARIOS = {"1x1000": (1, 1000), "1x10000": (1, 10000), "2x50000": (2, 50000), "10x10000": (10, 10000)}
TOKEN = "bench-metrics-token"
MiB = 1 << 20


class ScenarioFailed(Exception):
    """The gateway could not run a scenario; the message says what happened."""


@dataclass
class Result:
    """What one scenario measured."""

    label: str
    polled: float  # tags/s
    delivered: float  # tags/s
    cpu_us: float  # gateway CPU per polled tag
    main_rss: float  # MiB
    worker_rss: float  # MiB
    startup: float  # s
    age_p50: float
    age_p99: float
    controller_change: float  # s from saving a controller change in the UI to that PLC's next poll
    measure_change: float  # s from saving a measure change to the first poll of every PLC after it

    def row(self) -> str:
        return (f"{self.label:24} {self.polled:9,.0f} {self.delivered:9,.0f} {self.cpu_us:8.1f} {self.main_rss:7.0f} "
                f"{self.worker_rss:7.0f} {self.startup:7.1f} {self.age_p50:6.2f} {self.age_p99:6.2f} "
                f"{self.controller_change:6.1f} {self.measure_change:6.1f}")


HEADER = (f"{'scenario':24} {'polled/s':>9} {'deliv./s':>9} {'CPU us':>8} {'main MB':>7} {'wrk MB':>7} "
          f"{'start s':>7} {'age50':>6} {'age99':>6} {'ctl s':>6} {'meas s':>6}")


class DeliveryCounter(ValueCounter):
    """Counts the values our gateway delivers (the script's records), and how old the clock tags are."""

    def __init__(self, port: int) -> None:
        super().__init__(port, ["awsiot/#"], "bench-counter")

    def count(self, message: paho.MQTTMessage) -> tuple[int, list[float]]:
        count, ages = 0, []
        for record in json.loads(message.payload):
            data = record["Data"]
            count += len(data)
            clocks = (data.get(f"t{i}") for i in range(0, len(data), CLOCK_EVERY))
            ages += [clock_age(value) for value in clocks if value is not None]  # None: not read yet
        return count, ages


@contextmanager
def plant(plcs: int, tags: int) -> Iterator[tuple[list[int], int]]:
    """Start ``plcs`` simulated PLCs of ``tags`` each (own processes) and a broker; yield their ports."""
    ports = [free_port() for _ in range(plcs)]
    simulators = [subprocess.Popen([sys.executable, "-m", "tests.bench.sim_process", "plant", str(port), str(tags)],
                                   cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                  for port in ports]
    broker = MosquittoBroker(free_port())
    broker.start()
    try:
        for simulator in simulators:
            assert simulator.stdout is not None and simulator.stdout.readline().strip() == "ready"
        yield ports, broker.port
    finally:
        broker.close()
        for simulator in simulators:
            simulator.terminate()
            simulator.wait(10)


def plain_http(python: str) -> dict[str, bool]:
    """The web setting that serves the admin UI over plain HTTP with ``python``'s revision: its
    /metrics is scraped the same way in every run; a revision from before HTTPS has no ``tls``."""
    knows_tls = subprocess.run([python, "-I", "-c", "import sys; from gateway.config.schema import WebSection; "
                                "sys.exit(0 if 'tls' in WebSection.model_fields else 1)"], check=False).returncode == 0
    return {"tls": False} if knows_tls else {}


def write_config(folder: Path, ports: list[int], tags: int, broker_port: int, web_port: int,
                 web: dict[str, bool]) -> Path:
    """Write the scenario's config.yaml (one group per PLC) and its script into ``folder``; ``web``
    is added to the web settings."""
    points = plant_tags(tags)
    controllers, measures, groups = [], [], []
    for index, port in enumerate(ports, start=1):
        name = f"PLC{index}"
        controllers.append({"name": name, "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{port}",
                            "sample_period": 1.0, "timeout": 5.0, "args": {"unit_id": 1}})
        measures += [{"name": p.name, "controller": name, "group": f"g{index}", "address": p.address,
                      "type": str(p.dtype)} for p in points]
        groups.append({"name": f"g{index}", "upload_interval": 1})
    config = {
        "gateway": {"name": "bench", "data_dir": "./state", "log_level": "warning",
                    "web": {"host": "127.0.0.1", "port": web_port, "metrics_token": TOKEN, **web}},
        "controllers": controllers, "measures": measures, "groups": groups,
        "clouds": [{"name": "broker", "type": "mqtt", "host": "127.0.0.1", "port": broker_port,
                    "client_id": "bench-gateway"}],
        "cache": {"max_messages": 100000, "max_mb": 512},
        "publish": [{"name": "upload", "cloud": "broker", "topic": "awsiot/test", "qos": 1, "source": "group",
                     "groups": [g["name"] for g in groups], "function": "vars_upload_test",
                     "script": "vars_upload_test.py"}],
    }
    (folder / "vars_upload_test.py").write_text((REPO / "scripts" / "vars_upload_test.py").read_text())
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def metrics(port: int) -> dict[str, float]:
    """Return the gateway's /metrics samples by name and labels, or {} while it does not answer."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def successful_cycles(samples: dict[str, float], plcs: int) -> float:
    """Return the read cycles that succeeded, summed over the PLCs."""
    return sum(samples.get(f'gateway_controller_reads_total{{controller="PLC{i}"}}', 0)
               - samples.get(f'gateway_controller_read_errors_total{{controller="PLC{i}"}}', 0)
               for i in range(1, plcs + 1))


def cpu_seconds(pid: int) -> float:
    """Return a process's CPU time (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Return a process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_of(pid: int) -> int | None:
    """Return the pid of the gateway's script worker."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == pid and b"gateway.scripting.worker" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    return None


def run_scenario(label: str, python: str, plcs: int, tags: int, seconds: float) -> Result:
    """Run the gateway with ``python`` on one scenario and measure it."""
    with plant(plcs, tags) as (ports, broker_port), tempfile.TemporaryDirectory() as scratch:
        web_port = free_port()
        config = write_config(Path(scratch), ports, tags, broker_port, web_port, plain_http(python))
        counter = DeliveryCounter(broker_port)
        log = (Path(scratch) / "gateway.log").open("w")
        began = time.monotonic()
        gateway = subprocess.Popen([python, "-m", "gateway", "run", "-c", str(config)], cwd=scratch,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            startup = _wait_for_first_polls(web_port, plcs, began, gateway)
            if not counter.first.wait(120):
                raise ScenarioFailed("nothing was delivered within 2 minutes of the first polls")
            time.sleep(3)  # let the first cycles settle
            worker = worker_of(gateway.pid)
            assert worker is not None, "no script worker"
            before, cpu_before, clock = metrics(web_port), cpu_seconds(gateway.pid) + cpu_seconds(worker), \
                time.monotonic()
            counter.take()
            time.sleep(seconds)
            delivered, ages = counter.take()
            elapsed = time.monotonic() - clock
            cpu = cpu_seconds(gateway.pid) + cpu_seconds(worker) - cpu_before
            polled = (successful_cycles(metrics(web_port), plcs) - successful_cycles(before, plcs)) * tags
            ages.sort()
            main_rss, worker_rss = rss_mib(gateway.pid), rss_mib(worker)
            ui = UiSession(web_port, Path(scratch) / "state" / "setup-code")
            controller_change = _controller_change(ui, web_port, plcs, gateway)
            measure_change = _measure_change(ui, web_port, plcs, gateway)
            return Result(label, polled / elapsed, delivered / elapsed, cpu / max(polled, 1) * 1e6,
                          main_rss, worker_rss, startup,
                          statistics.median(ages) if ages else float("nan"),
                          ages[int(len(ages) * 0.99)] if ages else float("nan"), controller_change, measure_change)
        except ScenarioFailed as exc:
            log.flush()
            tail = (Path(scratch) / "gateway.log").read_text().splitlines()[-5:]
            raise ScenarioFailed(f"{label}: {exc}; the gateway's log ends:\n  " + "\n  ".join(tail)) from None
        finally:
            counter.close()
            stop(gateway, log)


class UiSession:
    """The admin UI's REST API, logged in with the setup code as a newcomer would."""

    def __init__(self, port: int, setup_code: Path) -> None:
        self._url = f"http://127.0.0.1:{port}/api/v1"
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._csrf = ""
        self.call("POST", "/auth/setup", {"code": setup_code.read_text().strip(), "password": "bench password 1"})

    def call(self, method: str, path: str, body: object = None) -> object:
        request = urllib.request.Request(self._url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", "X-CSRF-Token": self._csrf})
        try:
            with self._opener.open(request, timeout=600) as answer:
                result = json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ScenarioFailed(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None
        if isinstance(result, dict) and result.get("csrf"):
            self._csrf = result["csrf"]
        return result


def _controller_change(ui: UiSession, web_port: int, plcs: int, gateway: subprocess.Popen[bytes]) -> float:
    """Change the last PLC's timeout in the UI; return the seconds until that PLC is polled again."""
    controllers = ui.call("GET", "/config/controllers")
    assert isinstance(controllers, list)
    changed = {**controllers[-1], "timeout": 4.0}
    reads = f'gateway_controller_reads_total{{controller="PLC{plcs}"}}'
    began = time.monotonic()
    ui.call("PUT", f"/config/controllers/PLC{plcs}", changed)
    while time.monotonic() - began < 600 and gateway.poll() is None:
        if metrics(web_port).get(reads, 0) >= 1 and _all_healthy(web_port, plcs):
            return time.monotonic() - began
        time.sleep(0.05)
    raise ScenarioFailed("the changed controller was not polled again")


def _measure_change(ui: UiSession, web_port: int, plcs: int, gateway: subprocess.Popen[bytes]) -> float:
    """Give PLC1's first measure a unit in the UI (the gateway restarts); return the seconds until
    every PLC has been polled after it."""
    point = plant_tags(1)[0]
    measure = {"name": point.name, "controller": "PLC1", "group": "g1", "address": point.address,
               "type": str(point.dtype), "unit": "mm"}
    began = time.monotonic()
    ui.call("PUT", f"/config/measures/PLC1/{point.name}", measure)
    return _wait_for_first_polls(web_port, plcs, began, gateway)


def _all_healthy(web_port: int, plcs: int) -> bool:
    samples = metrics(web_port)
    return all(samples.get(f'gateway_controller_healthy{{controller="PLC{i}"}}') == 1 for i in range(1, plcs + 1))


def run_thingsboard(label: str, plcs: int, tags: int, seconds: float) -> Result:
    """Run ThingsBoard's gateway on one scenario and measure it as :func:`run_scenario` does our
    own (it has no script worker; its polled tags are those it delivers)."""
    python = thingsboard_python()
    with plant(plcs, tags) as (ports, broker_port), tempfile.TemporaryDirectory() as scratch:
        config = write_thingsboard_config(Path(scratch), python, ports, tags, broker_port)
        counter = TelemetryCounter(broker_port)
        log = (Path(scratch) / "thingsboard.log").open("w")
        began = time.monotonic()
        gateway = start_thingsboard(python, config, Path(scratch), log)
        try:
            if not counter.first.wait(120):
                raise ScenarioFailed(f"{label}: ThingsBoard's gateway delivered nothing within 2 minutes")
            startup = time.monotonic() - began
            time.sleep(3)
            counter.take()
            cpu_before, clock = cpu_seconds(gateway.pid), time.monotonic()
            time.sleep(seconds)
            delivered, ages = counter.take()
            elapsed = time.monotonic() - clock
            cpu = cpu_seconds(gateway.pid) - cpu_before
            ages.sort()
            return Result(label, delivered / elapsed, delivered / elapsed, cpu / max(delivered, 1) * 1e6,
                          rss_mib(gateway.pid), 0.0, startup, statistics.median(ages) if ages else float("nan"),
                          ages[int(len(ages) * 0.99)] if ages else float("nan"), float("nan"), float("nan"))
        finally:
            counter.close()
            stop(gateway, log)


def _wait_for_first_polls(web_port: int, plcs: int, began: float, gateway: subprocess.Popen[bytes]) -> float:
    deadline = began + 600
    while time.monotonic() < deadline:
        if gateway.poll() is not None:
            raise ScenarioFailed(f"the gateway exited with {gateway.returncode}")
        if _all_healthy(web_port, plcs):
            return time.monotonic() - began
        time.sleep(0.05)
    raise ScenarioFailed("the gateway did not poll every PLC within 10 minutes")


def baseline_python(revision: str) -> str:
    """Return the interpreter of a virtual environment running ``revision`` (a git worktree)."""
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.strip()
    folder = REPO / "build" / "bench" / commit
    python = folder / ".venv" / "bin" / "python"
    if not python.exists():
        subprocess.run(["git", "worktree", "add", "--force", "--detach", str(folder), commit], cwd=REPO, check=True,
                       capture_output=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", str(folder)], check=True)
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="1x1000,1x10000,2x50000,10x10000")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measuring window of each scenario")
    parser.add_argument("--baseline", help="also run this git revision (e.g. main~3) in the same run")
    parser.add_argument("--thingsboard", default="1x1000,1x10000",
                        help=f"the scenarios also run on ThingsBoard IoT Gateway {TB_VERSION} ('' for none)")
    options = parser.parse_args()
    runs = [("now", sys.executable)]
    if options.baseline:
        runs.append((options.baseline, baseline_python(options.baseline)))
    print(HEADER, flush=True)
    for name in options.scenarios.split(","):
        plcs, tags = SCENARIOS[name]
        results = {}
        for label, python in runs:
            try:
                results[label] = run_scenario(f"{name} {label}", python, plcs, tags, options.seconds)
                print(results[label].row(), flush=True)
            except ScenarioFailed as exc:
                print(f"failed: {exc}", flush=True)
        if name in options.thingsboard.split(","):
            try:
                theirs = run_thingsboard(f"{name} thingsboard", plcs, tags, options.seconds)
            except ScenarioFailed as exc:
                print(f"failed: {exc}", flush=True)
                continue
            print(theirs.row(), flush=True)
            if "now" in results:
                print(f"{'':24} ThingsBoard spends {theirs.cpu_us / results['now'].cpu_us:.0f}x our CPU per tag",
                      flush=True)


if __name__ == "__main__":
    main()

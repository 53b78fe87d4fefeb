"""ThingsBoard IoT Gateway 3.8.5 on the end-to-end benchmark's plant, for a comparison in the same run.

Its Modbus connector polls the same simulated PLCs every second (one request per tag: it does not
merge reads) and sends every value to the same Mosquitto at QoS 1, as it sends telemetry to a
ThingsBoard server (``v1/gateway/telemetry``). It has no scripts, so it does less per tag than
our gateway does. It is installed from PyPI into its own virtual environment under
build/bench/, once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

import paho.mqtt.client as paho

from tests.bench.counting import ValueCounter
from tests.bench.tags import CLOCK_EVERY, clock_age, plant_tags
from tests.conftest import REPO

VERSION = "3.8.5"
TELEMETRY = "v1/gateway/telemetry"
RPC_REQUEST = "v1/devices/me/rpc/request/"


def thingsboard_python() -> str:
    """Return the interpreter of a virtual environment with ThingsBoard's gateway (made once)."""
    folder = REPO / "build" / "bench" / f"thingsboard-{VERSION}"
    python = folder / "bin" / "python"
    if not (folder / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"thingsboard-gateway=={VERSION}"],
                       check=True)
        (folder / ".installed").touch()
    return str(python)


def write_thingsboard_config(folder: Path, python: str, ports: list[int], tags: int, broker_port: int) -> Path:
    """Write ThingsBoard's configuration folder for the plant (one device per PLC); return it."""
    package = subprocess.run([python, "-c", "import thingsboard_gateway, os; "
                              "print(os.path.dirname(thingsboard_gateway.__file__))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    config = folder / "tb-config"
    shutil.copytree(Path(package) / "config", config)
    settings = json.loads((config / "tb_gateway.json").read_text())
    settings["thingsboard"].update({
        "host": "127.0.0.1", "port": broker_port, "remoteConfiguration": False, "remoteShell": False,
        "statistics": {"enable": False, "statsSendPeriodInSeconds": 3600, "customStatsSendPeriodInSeconds": 3600},
        "security": {"type": "accessToken", "accessToken": "bench"}, "qos": 1,
        "reportStrategy": {"type": "ON_RECEIVED"}})
    settings["storage"] = {"type": "memory", "read_records_count": 1000, "max_records_count": 1_000_000}
    settings["connectors"] = [{"type": "modbus", "name": "Modbus", "configuration": "modbus.json"}]
    (config / "tb_gateway.json").write_text(json.dumps(settings, indent=1))
    timeseries = [{"tag": p.name, "type": "16int" if p.dtype.value == "INT" else "16uint", "functionCode": 3,
                   "objectsCount": 1, "address": int(p.address[1:]) - 1} for p in plant_tags(tags)]
    slaves = [{"host": "127.0.0.1", "port": port, "type": "tcp", "method": "socket", "unitId": 1,
               "deviceName": f"PLC{index}", "deviceType": "default", "timeout": 5, "byteOrder": "BIG",
               "wordOrder": "BIG", "retries": 1, "pollPeriod": 1000, "sendDataOnlyOnChange": False,
               "reportStrategy": {"type": "ON_RECEIVED"},
               "attributes": [], "timeseries": timeseries, "attributeUpdates": [], "rpc": []}
              for index, port in enumerate(ports, start=1)]
    (config / "modbus.json").write_text(json.dumps({"master": {"slaves": slaves}}))
    (folder / "logs").mkdir(exist_ok=True)
    return config


def start_thingsboard(python: str, config: Path, cwd: Path, log: IO[str]) -> subprocess.Popen[bytes]:
    """Start ThingsBoard's gateway on ``config``."""
    return subprocess.Popen([python, "-c", "from thingsboard_gateway.tb_gateway import daemon; daemon()"],
                            cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin:/bin", "TB_GW_CONFIG_DIR": str(config)})


class TelemetryCounter(ValueCounter):
    """Plays the ThingsBoard server's part: answers the gateway's request for its session limits
    (none: it waits for them before it sends anything), counts the values it delivers and how old
    the clock tags are."""

    def __init__(self, port: int) -> None:
        super().__init__(port, [TELEMETRY, f"{RPC_REQUEST}+"], "bench-tb-counter")

    def count(self, message: paho.MQTTMessage) -> tuple[int, list[float]] | None:
        if message.topic.startswith(RPC_REQUEST):
            self._answer(message)
            return None
        count, ages = 0, []
        for records in json.loads(message.payload).values():
            for record in records if isinstance(records, list) else [records]:
                values = record.get("values", record)
                count += len(values)
                ages += [clock_age(v) for name, v in values.items()
                         if int(name[1:]) % CLOCK_EVERY == 0 and isinstance(v, int)]
        return count, ages

    def _answer(self, message: paho.MQTTMessage) -> None:
        request = json.loads(message.payload)
        if request.get("method") == "getSessionLimits":
            unlimited = {"maxPayloadSize": 65536, "maxInflightMessages": 100,
                         "rateLimits": {"messages": "0:0,", "telemetryMessages": "0:0,", "telemetryDataPoints": "0:0,"}}
            self.publish(message.topic.replace("/request/", "/response/"), json.dumps(unlimited))

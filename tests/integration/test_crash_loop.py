"""kill -9 at random moments, broker up and down: every committed message arrives, in order.

A real gateway process polls a pymodbus simulator and publishes five numbered messages per
upload cycle. It is killed with SIGKILL 20 times while Mosquitto is sometimes stopped. After
each kill the test opens the outbox: the database must pass integrity_check, and every message
in it is committed. At the end the gateway runs until its outbox is empty: the subscriber must
have every committed message, first arrivals in collection order; duplicates are allowed (at
least once) and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.demo.broker import MosquittoBroker
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import Subscriber, free_port, restartable_port
from tests.integration.gateway_harness import default_ctrl_c, mqtt_cloud, write_config

KILLS = 20
SCRIPT = """
def main(data_collect, wizard_api):
    level = data_collect["values"]["PLC1"]["Level"]["raw_data"]
    for i in range(5):
        wizard_api.awsiot_publish("crash/test", {"ts": data_collect["timestamp"], "i": i, "level": level}, 1)
"""


def _committed(db: Path) -> set[tuple[float, int]]:
    """What the outbox holds after a kill; a kill during start-up may come before the schema exists.

    Opened read-only so the test never creates or changes the file the gateway owns.
    """
    if not db.exists():
        return set()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone()
        rows = connection.execute("SELECT payload FROM outbox").fetchall() if has_table else []
    return {(m["ts"], m["i"]) for m in (json.loads(payload) for (payload,) in rows)}


def _drain(subscriber: Subscriber, into: list[tuple[float, int]]) -> None:
    into += [(m["ts"], m["i"]) for m in (json.loads(message.payload) for message in subscriber.drain())]


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(config)], cwd=config.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=default_ctrl_c)


async def _until_ready(web_port: int) -> None:
    """Wait until the gateway says it runs: start-up takes a second or more on a slow machine, and a
    kill before it produced anything tests little."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{web_port}/api/v1/health") as answer:
                    if (await answer.json()).get("status") == "ready":
                        return
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_kill_9_loses_nothing_committed(tmp_path: Path) -> None:
    modbus_port, web_port = free_port(), free_port()
    broker = MosquittoBroker(restartable_port(), persistent=True)
    server = ModbusSimServer([Point("Level", "40001", DataType.FLOAT)], "127.0.0.1", modbus_port)
    await server.start()
    broker.start()
    config: dict[str, Any] = {
        "gateway": {"name": "crash", "data_dir": "state", "web": {"host": "127.0.0.1", "port": web_port, "tls": False}},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}",
                         "sample_period": 0.05}],
        "measures": [{"name": "Level", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 0.05}],
        "clouds": [mqtt_cloud(broker.port)],
        "publish": [{"name": "seq", "cloud": "default", "topic": "crash/test", "qos": 1, "groups": ["g"],
                     "function": "main", "script": "scripts/seq.py"}],
    }
    path = write_config(tmp_path, config, {"seq.py": SCRIPT})
    db = tmp_path / "state" / "outbox.db"
    subscriber = Subscriber(broker.port, "crash/#", client_id="crash-subscriber", clean=False)
    rng = random.Random(2026)
    committed: set[tuple[float, int]] = set()
    received: list[tuple[float, int]] = []
    broker_up = True
    gateway: subprocess.Popen[bytes] | None = None
    try:
        for _ in range(KILLS):
            gateway = _start(path)
            if rng.random() < 0.8:  # most kills while it runs; the others during its start-up
                await _until_ready(web_port)
            await asyncio.sleep(rng.uniform(0.4, 1.6))  # the simulated PLC serves from this loop
            if rng.random() < 0.35:  # the broker goes down or comes back while the gateway runs
                broker.stop() if broker_up else broker.start()
                broker_up = not broker_up
                await asyncio.sleep(rng.uniform(0.1, 0.6))
            os.kill(gateway.pid, signal.SIGKILL)
            gateway.wait()
            committed |= _committed(db)
            _drain(subscriber, received)
        if not broker_up:
            broker.start()
        gateway = _start(path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not committed <= set(received):
            await asyncio.sleep(0.2)
            _drain(subscriber, received)
        gateway.send_signal(signal.SIGINT)
        gateway.wait(10)
        _drain(subscriber, received)
    finally:
        if gateway is not None and gateway.poll() is None:
            gateway.kill()  # it did not stop on Ctrl-C: do not leave it running after the test
            gateway.wait()
        subscriber.close()
        broker.close()
        await server.stop()
    first_arrivals = list(dict.fromkeys(received))
    missing = committed - set(received)
    assert not missing, f"{len(missing)} committed message(s) never arrived"
    assert first_arrivals == sorted(first_arrivals), "messages arrived out of collection order"
    assert len(committed) > 100
    print(f"crash loop: {KILLS} kills, {len(committed)} committed seen in the outbox after kills, "
          f"{len(first_arrivals)} delivered, {len(received) - len(first_arrivals)} duplicate(s)")

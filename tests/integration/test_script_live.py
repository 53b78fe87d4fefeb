"""gateway script test --live: a publish script run on the PLCs' values now, in its rule's context."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import yaml

from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port

SCRIPT = """
def upload(data, api):
    api.get_tag_config(units, None)
    values = data['values']['PLC1']
    site = api.get_global_parameter()['site']
    return {'temp': values['Temp']['raw_data'], 'ok': values['Temp']['status'], 'site': site}

def units(config, tail, api):
    api.awsiot_publish('units/' + config['vars'][0]['unit'], 'x', 0)
"""


async def _gateway(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", *args,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_live_reads_the_plc_and_shows_what_the_rule_would_publish(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "upload.py").write_text(SCRIPT)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "gateway": {"name": "line-7", "labels": {"site": "north"}},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{port}"},
                        {"name": "Gone", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{free_port()}",
                         "timeout": 0.5}],
        "measures": [{"name": "Temp", "controller": "PLC1", "group": "g", "address": "40001", "type": "FLOAT",
                      "unit": "C"},
                     {"name": "Level", "controller": "Gone", "group": "g", "address": "40001", "type": "INT"}],
        "groups": [{"name": "g", "upload_interval": 5}],
        "clouds": [{"name": "c", "type": "mqtt", "host": "127.0.0.1", "port": 1883}],
        "publish": [{"name": "up", "cloud": "c", "topic": "plant/${name}/data", "qos": 1, "groups": ["g"],
                     "function": "upload", "script": "upload.py"}],
    }))
    server = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT)], "127.0.0.1", port, moving=lambda _p: False)
    server.set_value("Temp", 21.5)
    await server.start()
    try:
        code, out, err = await _gateway("script", "test", str(tmp_path / "upload.py"), "--function", "upload",
                                        "--live", "-c", str(config))
    finally:
        await server.stop()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("not read: Gone: cannot connect")
    assert lines[1] == "read group 'g': 2 value(s)"
    assert lines[2] == "publish (stored, then sent) -> units/C qos 0: x"
    topic, body = lines[3].removeprefix("publish (stored, then sent) -> ").split(" qos 1: ")
    assert topic == "plant/line-7/data" and json.loads(body) == {"temp": 21.5, "ok": 1, "site": "north"}


async def test_live_needs_a_group_when_no_rule_runs_the_function(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text("def main(data, api):\n    return 1\n")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"groups": [{"name": "g"}]}))
    code, _, err = await _gateway("script", "test", str(tmp_path / "other.py"), "--function", "main",
                                  "--live", "-c", str(config))
    assert code == 1
    assert "no publish rule runs main()" in err and "--group" in err
    code, _, err = await _gateway("script", "test", str(tmp_path / "other.py"), "--function", "main",
                                  "--live", "-c", str(config), "--group", "nope")
    assert code == 1 and "no group 'nope'" in err and "(groups: g)" in err

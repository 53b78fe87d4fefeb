"""gateway script check / gateway script test: try a script the way the gateway runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import REPO

SAMPLE = {"timestamp": 1589538347.56, "group_name": "default",
          "values": {"PLC1": {"Temp": {"raw_data": 21.5, "timestamp": 1589538347, "status": 1}}}}


def test_check_lists_every_problem_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "bad.py"
    script.write_text("import socket\n\ndef main(data, api):\n    def g():\n        yield 1\n    return g\n")
    assert main(["script", "check", str(script), "--function", "main"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{script}: line 1: import of 'socket' is not allowed (scripts cannot open connections; "
                   "publish through wizard_api)",
                   f"{script}: line 5: generators (yield) are not allowed in scripts"]


def test_test_shows_what_would_be_published_and_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "sample.json"
    data.write_text(json.dumps(SAMPLE))
    script = tmp_path / "both.py"
    script.write_text("def main(data, api):\n    api.mqtt_publish('live/x', 'now', 0)\n"
                      "    api.write_plc_values({'SP1': 1.5})\n    return {'n': len(data['values'])}\n")
    assert main(["script", "test", str(script), "--function", "main", "--data", str(data)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "mqtt_publish (sent at once, not stored) -> live/x qos 0: now",
        'publish (stored, then sent) -> test/topic qos 1: {"n": 1}',
        'write_plc_values: {"SP1": 1.5}',
    ]
    assert main(["script", "test", str(REPO / "scripts/vars_upload_test.py"), "--function", "vars_upload_test",
                 "--data", str(data)]) == 0
    assert '"Data": {"Temp": 21.5}' in capsys.readouterr().out


def test_a_failing_test_run_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "sample.json"
    data.write_text(json.dumps(SAMPLE))
    script = tmp_path / "broken.py"
    script.write_text("def main(data, api):\n    return data['nope']\n")
    assert main(["script", "test", str(script), "--function", "main", "--data", str(data)]) == 1
    assert "main() failed: line 2: KeyError: 'nope'" in capsys.readouterr().err


def test_test_runs_download_and_alarm_functions_with_the_configurations_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("gateway: {name: g1, labels: {site: north}}\n")
    down = tmp_path / "down.py"
    down.write_text("import json\nfrom quickfaas.measure import write_plc_values\n"
                    "from quickfaas.global_dict import get_global_parameter\n"
                    "def main(topic, payload):\n    write_plc_values(json.loads(payload))\n"
                    "    return None\n"
                    "def answer(topic, payload, wizard_api):\n"
                    "    wizard_api.awsiot_publish(topic + '/ack', {'site': get_global_parameter()['site']}, 1)\n")
    assert main(["script", "test", str(down), "--function", "main", "--topic", "cmd/sp",
                 "--payload", '{"PLC1": {"SP1": 3}}']) == 0
    assert capsys.readouterr().out.splitlines() == ['write_plc_values: {"PLC1": {"SP1": 3}}']
    assert main(["script", "test", str(down), "--function", "answer", "--topic", "cmd/sp", "-c", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'publish (stored, then sent) -> cmd/sp/ack qos 1: {"site": "north"}']
    alarm = tmp_path / "alarm.json"
    alarm.write_text(json.dumps({"timestamp": 1700000002, "group_name": "boiler", "values": {"High": {
        "timestamp": 1700000002, "current": "on", "status": 0, "value": 85.0, "alarm_content": "too hot",
        "level": 4, "ctrlName": "PLC1", "measureName": "Temp", "alarm_value": 85.0}}}))
    flat = tmp_path / "flat.py"
    flat.write_text("def main(message, cloudName):\n    return [message['name'], message['status'], cloudName]\n")
    assert main(["script", "test", str(flat), "--function", "main", "--data", str(alarm)]) == 0
    assert capsys.readouterr().out.splitlines() == ['publish (stored, then sent) -> test/topic qos 1: '
                                                    '["High", 1, "cloud"]']

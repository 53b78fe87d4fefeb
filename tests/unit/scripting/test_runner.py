"""Publish scripts in Device Supervisor 1.x style run unchanged and produce the right messages."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest

from gateway.core.errors import ScriptCompileError, ScriptRuntimeError
from gateway.core.group_snapshot import GroupSnapshot, Roster
from gateway.core.messages import CallContext, OutgoingMessage
from gateway.scripting import CallOutcome, ScriptRunner

REPO = Path(__file__).resolve().parents[3]
CONTEXT = CallContext("upload", "default", "rule/topic", 1, {"gateway_sn": "SN1"})
DATA = {
    "timestamp": 1589538347.56, "timestampMsec": 1589538347560, "group_name": "default",
    "values": {
        "PLC1": {"Temp": {"raw_data": 21.5, "timestamp": 1589538347, "status": 1, "timestampMsec": 1589538347261},
                 "Pump": {"raw_data": True, "timestamp": 1589538347, "status": 1, "timestampMsec": 1589538347261}},
        "S7-1200": {"Test1": {"raw_data": None, "timestamp": 1589538340, "status": 0,
                              "timestampMsec": 1589538340007}},
    },
}


def _runner(source: str, function: str = "main", sent: list[tuple[str, str, bytes, int]] | None = None,
            timeout: float = 2.0) -> ScriptRunner:
    def send_now(cloud: str, topic: str, payload: bytes, qos: int) -> bool:
        if sent is None:
            return False
        sent.append((cloud, topic, payload, qos))
        return True

    runner = ScriptRunner(send_now=send_now, timeout=timeout)
    runner.load("upload", source, "user.py", function)
    return runner


async def _publish_once(source: str, context: CallContext = CONTEXT, function: str = "main",
                        sent: list[tuple[str, str, bytes, int]] | None = None, timeout: float = 2.0) -> CallOutcome:
    """Load ``source``, call its publish function once on DATA (with a call ``timeout``), and stop the worker."""
    runner = _runner(source, function, sent, timeout)
    try:
        return await runner.call_publish("upload", DATA, context)
    finally:
        await runner.close()


async def test_example_script_publishes_one_record_per_controller() -> None:
    outcome = await _publish_once((REPO / "scripts/vars_upload_test.py").read_text(), function="vars_upload_test")
    assert outcome.error is None
    [message] = outcome.messages
    assert (message.cloud, message.topic, message.qos) == ("default", "awsiot/test", 1)
    assert json.loads(message.payload) == [
        {"Device": "PLC1", "timestamp": 1589538347.56, "Data": {"Temp": 21.5, "Pump": True}},
        {"Device": "S7-1200", "timestamp": 1589538347.56, "Data": {"Test1": None}},
    ]


async def test_a_group_snapshot_reaches_the_script_as_the_same_data_collect_also_after_a_restart() -> None:
    roster = Roster((("PLC1", ("Temp", "Pump")), ("S7-1200", ("Test1",))))
    snapshot = GroupSnapshot("default", 1589538347.56, roster, [21.5, True, None],
                             [1589538347261, 1589538347261, 1589538340007], [1, 1, 0])
    runner = _runner("import json\ndef main(data, api):\n    return json.dumps(data, sort_keys=True)\n")
    try:
        first = await runner.call_publish("upload", snapshot, CONTEXT)
        await runner._kill()  # a new worker has no roster: the next call brings it again
        second = await runner.call_publish("upload", snapshot, CONTEXT)
    finally:
        await runner.close()
    for outcome in (first, second):
        assert outcome.error is None
        assert json.loads(outcome.messages[0].payload) == DATA


async def test_return_value_goes_to_the_rule_topic() -> None:
    outcome = await _publish_once("def main(data, api):\n    return {'n': len(data['values'])}\n")
    assert [(m.topic, json.loads(m.payload), m.qos) for m in outcome.messages] == [("rule/topic", {"n": 2}, 1)]


async def test_mqtt_publish_is_sent_now_and_not_queued() -> None:
    sent: list[tuple[str, str, bytes, int]] = []
    outcome = await _publish_once("def main(data, api):\n    ok = api.mqtt_publish('live/x', 'hello', 0)\n    "
                                  "api.awsiot_publish('q/x', {'sent': ok}, 1)\n", sent=sent)
    assert sent == [("default", "live/x", b"hello", 0)]
    assert [json.loads(m.payload) for m in outcome.messages] == [{"sent": True}]


async def test_global_parameters_and_save_data() -> None:
    outcome = await _publish_once("def main(data, api):\n    p = api.get_global_parameter()\n"
                                  "    api.save_data({'sn': p['gateway_sn']})\n"
                                  "    api.save_data({'topic': 'other', 'qos': 0, 'payload': 'x'})\n")
    assert [(m.topic, m.payload, m.qos) for m in outcome.messages] == [
        ("rule/topic", b'{"sn": "SN1"}', 1), ("other", b"x", 0)]


async def test_a_failing_script_reports_its_own_line_and_publishes_nothing() -> None:
    source = "def main(data, api):\n    api.awsiot_publish('t', 'partial', 1)\n    return data['missing']\n"
    outcome = await _publish_once(source)
    assert outcome.messages == []
    assert outcome.error == "line 3: KeyError: 'missing'"


async def test_a_script_cannot_change_what_the_next_script_sees() -> None:
    original = json.dumps(DATA)
    await _publish_once("def main(data, api):\n    data['values'].clear()\n    return None\n")
    assert json.dumps(DATA) == original


async def test_a_runaway_script_times_out_and_is_reported() -> None:
    outcome = await _publish_once("import time\ndef main(data, api):\n    time.sleep(1)\n", timeout=0.2)
    assert outcome.error == "timed out after 0.2 s"
    assert outcome.messages == []


async def test_a_call_timeout_shorter_than_the_workers_start_up_still_loads_scripts() -> None:
    """Starting the worker's interpreter takes about 0.25 s here (seconds on an ARM gateway): a
    0.1 s call timeout must not declare a script unloadable for the worker's own start-up."""
    outcome = await _publish_once("def main(data, api):\n    api.awsiot_publish('t', 'ok', 1)\n", timeout=0.1)
    assert outcome.error is None
    assert [m.payload for m in outcome.messages] == [b"ok"]


@pytest.mark.parametrize(("source", "reason"), [
    ("import os\ndef main(d, a):\n    pass\n", "line 1: import of 'os' is not allowed"),
    ("from subprocess import run\ndef main(d, a):\n    pass\n", "line 1: import of 'subprocess'"),
    ("def main(d, a):\n    return d.__class__\n", "line 2:"),
    ("def main(d, a):\n  return (\n", "syntax error"),
    ("def other(d, a):\n    pass\n", "no function 'main'"),
])
def test_refused_at_load_with_the_line(source: str, reason: str) -> None:
    with pytest.raises(ScriptCompileError, match=reason):
        _runner(source)


async def test_modules_are_proxies_without_submodules() -> None:
    outcome = await _publish_once("import json\ndef main(d, a):\n    return json.codecs\n")
    assert outcome.error is not None and "codecs" in outcome.error


async def test_invalid_publish_arguments_are_refused() -> None:
    outcome = await _publish_once("def main(d, wizard_api):\n    wizard_api.awsiot_publish('a/#', 'x', 1)\n")
    assert outcome.error is not None and "wildcards" in outcome.error
    with pytest.raises(ScriptRuntimeError, match="JSON"):
        from gateway.scripting import encode_payload
        encode_payload({1, 2})


async def test_subscribe_scripts_with_and_without_wizard_api() -> None:
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("three", "def main(topic, payload, api):\n    api.awsiot_publish('echo', payload, 0)\n",
                "three.py", "main")
    runner.load("two", "def main(topic, payload):\n    print(topic, payload)\n", "two.py", "main")
    try:
        echoed = await runner.call_subscribe("three", "cmd/x", '{"a": 1}', CONTEXT)
        quiet = await runner.call_subscribe("two", "cmd/x", "hi", CONTEXT)
    finally:
        await runner.close()
    assert [(m.topic, m.payload) for m in echoed.messages] == [("echo", b'{"a": 1}')]
    assert quiet.error is None and quiet.messages == []


async def test_write_requests_are_plain_data_and_the_callback_sees_the_results() -> None:
    source = ("def main(topic, payload, api):\n    api.write_plc_values({'SP1': 1.5}, done, 'my-tail')\n\n"
              "def done(result, tail, api):\n    api.awsiot_publish('ack', {'tail': tail, 'result': result}, 1)\n")
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("sub", source, "sub.py", "main")
    result = [{"value": 1.5, "device": "PLC1", "var_name": "SP1", "result": "OK", "error": ""}]
    try:
        outcome = await runner.call_subscribe("sub", "cmd", "{}", CONTEXT)
        [write] = outcome.writes
        assert write.values == {"SP1": 1.5} and write.tail == "my-tail" and write.callback_id is not None
        callback = await runner.call_write_callback(write.callback_id, result, write.tail, CONTEXT)
    finally:
        await runner.close()
    assert [json.loads(m.payload) for m in callback.messages] == [{"tail": "my-tail", "result": result}]


async def test_a_failing_call_leaves_no_writes() -> None:
    source = "def main(topic, payload, api):\n    api.write_plc_values({'SP1': 1})\n    raise ValueError('no')\n"
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("sub", source, "sub.py", "main")
    try:
        outcome = await runner.call_subscribe("sub", "cmd", "{}", CONTEXT)
    finally:
        await runner.close()
    assert outcome.writes == [] and outcome.error == "line 3: ValueError: no"


async def test_a_hung_script_is_killed_with_its_worker_and_the_next_call_works() -> None:
    runner = ScriptRunner(send_now=lambda *_: False, timeout=0.5)
    runner.load("hang", "import time\ndef main(data, api):\n    time.sleep(3600)\n", "hang.py", "main")
    runner.load("ok", "def main(data, api):\n    return {'fine': True}\n", "ok.py", "main")
    try:
        first = await runner.call_publish("ok", DATA, CONTEXT)
        worker = runner._worker
        assert worker is not None and worker.pid != os.getpid()  # scripts never run in the gateway's process
        hung = await runner.call_publish("hang", DATA, CONTEXT)
        assert hung.error == "timed out after 0.5 s" and worker.returncode is not None  # killed
        after = await runner.call_publish("ok", DATA, CONTEXT)
    finally:
        await runner.close()
    assert first.error is None and [json.loads(m.payload) for m in after.messages] == [{"fine": True}]


async def test_a_cpu_runaway_ends_by_its_budget_and_the_worker_lives_on() -> None:
    runner = ScriptRunner(send_now=lambda *_: False, timeout=5.0, cpu_seconds=0.3)
    runner.load("spin", "def main(data, api):\n    while True:\n        pass\n", "spin.py", "main")
    runner.load("ok", "def main(data, api):\n    return 1\n", "ok.py", "main")
    try:
        spun = await runner.call_publish("spin", DATA, CONTEXT)
        worker = runner._worker
        after = await runner.call_publish("ok", DATA, CONTEXT)
        assert runner._worker is worker  # the same worker: no restart was needed
    finally:
        await runner.close()
    assert re.fullmatch(r"line [23]: used more than 0.3 s of CPU in one call", spun.error or "") and after.error is None


async def test_memory_is_capped() -> None:
    runner = ScriptRunner(send_now=lambda *_: False, timeout=10.0, memory_mb=256)
    runner.load("hog", "def main(data, api):\n    return len('x' * (600 * 1024 * 1024))\n", "hog.py", "main")
    runner.load("ok", "def main(data, api):\n    return 1\n", "ok.py", "main")
    try:
        hog = await runner.call_publish("hog", DATA, CONTEXT)
        after = await runner.call_publish("ok", DATA, CONTEXT)
    finally:
        await runner.close()
    assert hog.error is not None and "MemoryError" in hog.error
    assert after.error is None


async def test_messages_the_cloud_would_refuse_return_false_and_are_not_stored() -> None:
    from gateway.core.publish_limits import aws_iot_limits

    source = ("def main(data, api):\n"
              "    big = api.awsiot_publish('plant/data', 'x' * (200 * 1024), 1)\n"
              "    deep = api.awsiot_publish('a/b/c/d/e/f/g/h/i', 'x', 1)\n"
              "    qos2 = api.awsiot_publish('plant/data', 'x', 2)\n"
              "    shadow = api.awsiot_publish('$aws/things/pump-7/shadow/update', '{}', 1)\n"
              "    api.awsiot_publish('plant/result', [big, deep, qos2, shadow], 1)\n")
    context = CallContext("upload", "aws", "rule/topic", 1, {}, aws_iot_limits("pump-7"))
    outcome = await _publish_once(source, context)
    assert outcome.error is None
    assert [m.topic for m in outcome.messages] == ["$aws/things/pump-7/shadow/update", "plant/result"]
    assert json.loads(outcome.messages[-1].payload) == [False, False, False, True]


async def test_a_flood_of_publishes_stops_at_the_cap(caplog: pytest.LogCaptureFixture) -> None:
    from gateway.scripting.wizard_api import MESSAGES_PER_CALL

    source = ("def main(data, api):\n    sent = 0\n    for i in range(20000):\n"
              "        if api.awsiot_publish('flood/x', 'm', 0):\n            sent = sent + 1\n"
              "    print('sent', sent)\n")
    with caplog.at_level(logging.WARNING, "gateway.script"):
        outcome = await _publish_once(source)
    assert outcome.error is None and len(outcome.messages) == MESSAGES_PER_CALL
    refusals = [r for r in caplog.records if "more than" in r.getMessage()]
    assert len(refusals) == 1  # said once, not for each of the 10,000 refused publishes


@pytest.mark.parametrize(("message", "reason"), [
    (OutgoingMessage("other-cloud", "t", b"x", 1), "cloud 'other-cloud'"),
    (OutgoingMessage("default", "$SYS/broker", b"x", 1), "reserved"),
    (OutgoingMessage("default", "a/#", b"x", 1), "wildcards"),
])
def test_the_gateway_rechecks_what_the_worker_answers(message: OutgoingMessage, reason: str) -> None:
    """The worker runs user code: a forged answer is refused, not stored."""
    from gateway.scripting.runner import _checked

    with pytest.raises(ValueError, match=re.escape(reason)):
        _checked("upload", CONTEXT, [message], [])


async def test_a_script_failing_again_and_again_is_paused_and_reloading_resumes_it() -> None:
    from gateway.scripting.runner import FAULT_AFTER

    runner = _runner("def main(data, api):\n    return 1 / 0\n")
    try:
        outcomes = [await runner.call_publish("upload", DATA, CONTEXT) for _ in range(FAULT_AFTER + 2)]
        assert all(o.error == "line 2: ZeroDivisionError: division by zero" for o in outcomes[:FAULT_AFTER])
        assert outcomes[-1].error is not None and outcomes[-1].error.startswith(f"paused: failed {FAULT_AFTER} times")
        assert "upload" in runner.faulted
        runner.load("upload", "def main(data, api):\n    return 2\n", "user.py", "main")
        assert "upload" not in runner.faulted
        resumed = await runner.call_publish("upload", DATA, CONTEXT)
        assert resumed.error is None and [m.payload for m in resumed.messages] == [b"2"]
    finally:
        await runner.close()


async def test_augmented_item_assignment_as_device_supervisor_scripts_use_it() -> None:
    source = ("def main(data, api):\n"
              "    counts = {'a': 1}\n"
              "    counts['a'] += 2\n"
              "    nested = {'x': {'y': 1}}\n"
              "    nested['x']['y'] *= 7\n"
              "    calls = []\n"
              "    def key():\n"
              "        calls.append(1)\n"
              "        return 'a'\n"
              "    counts[key()] -= 1\n"
              "    return [counts['a'], nested['x']['y'], len(calls)]\n")
    outcome = await _publish_once(source)
    assert outcome.error is None and json.loads(outcome.messages[0].payload) == [2, 7, 1]  # key() ran once


def test_module_proxies_offer_only_their_listed_names() -> None:
    import logging
    import types

    from gateway.scripting.compiler import ALLOWED_MODULES
    from gateway.scripting.sandbox import script_globals

    imported = script_globals(logging.getLogger("t"))["__builtins__"]["__import__"]
    for name in ALLOWED_MODULES:
        proxy = imported(name, fromlist=("x",))
        assert isinstance(proxy, types.SimpleNamespace)
        for attribute, value in vars(proxy).items():
            assert not attribute.startswith("_"), (name, attribute)
            assert not isinstance(value, types.ModuleType), (name, attribute)
    json_proxy = imported("json", fromlist=("x",))
    assert set(vars(json_proxy)) == {"dumps", "loads", "JSONDecodeError"}


async def test_each_script_has_its_own_random() -> None:
    """Two identical scripts seeded once at load draw the same sequence though a third draws between."""
    seeded = "import random\nrandom.seed(7)\ndef main(data, api):\n    return random.random()\n"
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("a", seeded, "a.py", "main")
    runner.load("c", seeded, "c.py", "main")
    runner.load("b", "import random\ndef main(data, api):\n    return random.random()\n", "b.py", "main")

    async def draw(name: str) -> float:
        return float(json.loads((await runner.call_publish(name, DATA, CONTEXT)).messages[0].payload))

    try:
        a_values = [await draw("a"), await draw("b"), await draw("b"), await draw("a")]
        c_values = [await draw("c"), await draw("c")]
    finally:
        await runner.close()
    assert [a_values[0], a_values[3]] == c_values


async def test_device_supervisor_2_publish_entry_with_topic_and_qos() -> None:
    source = ("from quickfaas.remotebus import publish\n"
              "def main(message, wizard_api, cloudName):\n"
              "    publish(__topic__, {'cloud': cloudName, 'groups': message['group_name']}, __qos__)\n")
    outcome = await _publish_once(source)
    assert outcome.error is None
    assert [(m.topic, m.qos, json.loads(m.payload)) for m in outcome.messages] == [
        ("rule/topic", 1, {"cloud": "default", "groups": "default"})]


async def test_quickfaas_publish_cannot_reach_another_cloud() -> None:
    source = ("from quickfaas.remotebus import publish\n"
              "def main(message, wizard_api, cloudName):\n"
              "    return [publish('a/b', 'x', 1, cloud_name='elsewhere'),\n"
              "            publish('a/b', 'y', 1, cloud_name=cloudName)]\n")
    outcome = await _publish_once(source)
    assert outcome.error is None
    assert [(m.cloud, m.payload) for m in outcome.messages] == [("default", b"y"), ("default", b"[false, true]")]


@pytest.mark.parametrize("signature", ["message", "message, userdata", "message, cloudName"])
async def test_device_supervisor_2_entry_without_wizard_api_gets_the_flat_measures_message(signature: str) -> None:
    """Device Supervisor tells the formats apart by the parameter named wizard_api, not by counting."""
    source = (f"def main({signature}):\n"
              "    m = message['measures']\n"
              "    return {'group': message['group'], 'at': [message['timestamp'], message['timestampMsec']],\n"
              "            'rows': [(r['ctrlName'], r['name'], r['value'], r['health'], r['timestamp'],\n"
              "                      r['timestampMsec']) for r in m],\n"
              "            'second': None if ',' not in '" + signature + "' else " + signature.split(", ")[-1] + "}\n")
    outcome = await _publish_once(source)
    assert outcome.error is None
    [message] = outcome.messages
    assert message.topic == "rule/topic"
    assert json.loads(message.payload) == {
        "group": "default", "at": [1589538347.56, 1589538347560],
        "rows": [["PLC1", "Temp", 21.5, 1, 1589538347, 1589538347261],
                 ["PLC1", "Pump", True, 1, 1589538347, 1589538347261],
                 ["S7-1200", "Test1", None, 0, 1589538340, 1589538340007]],
        "second": None if signature == "message" else "default"}  # the rule's cloud, whatever its name


async def test_an_alarm_entry_without_wizard_api_gets_the_event_bus_form() -> None:
    """Raised is status 1 there, 0 in the nested form; alarm_value is the value that raised it."""
    alarm = {"timestamp": 1700000002.5, "group_name": "boiler", "values": {"High": {
        "timestamp": 1700000002, "current": "off", "status": 1, "value": 75.0, "alarm_content": "too hot",
        "level": 4, "ctrlName": "PLC1", "measureName": "Temp", "alarm_value": 85.0}}}
    runner = _runner("def main(message, cloudName):\n    return message\n")
    nested = _runner("def main(message, wizard_api):\n    return message\n")
    try:
        flat = (await runner.call_publish("upload", alarm, CONTEXT)).messages
        kept = (await nested.call_publish("upload", alarm, CONTEXT)).messages
    finally:
        await runner.close()
        await nested.close()
    assert json.loads(flat[0].payload) == {
        "name": "High", "ctrlName": "PLC1", "measureName": "Temp", "priority": 4, "timestamp": 1700000002,
        "timestampMsec": 1700000002500, "status": 0, "value": 75.0, "alarm_value": 85.0, "content": "too hot"}
    assert json.loads(kept[0].payload) == alarm


async def test_get_tag_config_hands_the_callback_the_southbound_configuration() -> None:
    from gateway.config.load import parse_config
    from gateway.rules.tag_config import tag_config

    config = parse_config(
        "controllers: [{name: PLC1, protocol: modbus-tcp, endpoint: '127.0.0.1:502'}]\n"
        "groups: [{name: g, upload_interval: 5}]\n"
        "measures:\n"
        "  - {name: Temp, controller: PLC1, group: g, address: '40001', type: FLOAT, unit: C}\n"
        "  - {name: SP, controller: PLC1, group: g, address: '40003', type: FLOAT, access: rw}\n",
        REPO / "config.yaml")
    source = ("def main(data, api):\n"
              "    api.get_tag_config(show, 'tail')\n"
              "def show(config, tail, api):\n"
              "    api.awsiot_publish('t', {'tail': tail, 'devices': [d['name'] for d in config['devices']],\n"
              "                             'rw': [v['name'] for v in config['vars'] if v['readWrite'] == 'rw'],\n"
              "                             'units': [v['unit'] for v in config['vars']]}, 1)\n")
    runner = ScriptRunner(send_now=lambda *_: False, queries={"tag_config": lambda _args: tag_config(config.model)})
    runner.load("upload", source, "user.py", "main")
    try:
        outcome = await runner.call_publish("upload", DATA, CONTEXT)
    finally:
        await runner.close()
    assert outcome.error is None
    assert json.loads(outcome.messages[0].payload) == {"tail": "tail", "devices": ["PLC1"], "rw": ["SP"],
                                                       "units": ["C", ""]}


async def test_get_statistics_asks_the_gateway_with_the_measure_and_may_be_answered_async() -> None:
    asked: list[dict[str, object]] = []

    async def statistics(args: dict[str, object]) -> dict[str, object]:
        asked.append(args)
        return {"hour": {"avg": 21.5, "min": 20.0, "max": 23.0, "count": 3600}}

    source = "def main(data, api):\n    return api.get_statistics('Temp')['hour']['avg']\n"
    runner = ScriptRunner(send_now=lambda *_: False, queries={"statistics": statistics})
    runner.load("upload", source, "user.py", "main")
    try:
        outcome = await runner.call_publish("upload", DATA, CONTEXT)
    finally:
        await runner.close()
    assert outcome.error is None and json.loads(outcome.messages[0].payload) == 21.5
    assert asked == [{"measure": "Temp", "controller": None}]


SLOW_TOP_LEVEL = "import time\ntime.sleep(3)\n\ndef main(data, api):\n    return {'from': 'slow'}\n"
QUICK = "def main(data, api):\n    return {'from': 'quick', 'n': data['n']}\n"


async def test_a_script_whose_top_level_overruns_is_left_out_and_answers_never_shift() -> None:
    """The late answer of an overrun load is never taken for the next call's: every call gets its own."""
    runner = ScriptRunner(send_now=lambda *_: False, timeout=1.0)
    runner.load("slow", SLOW_TOP_LEVEL, "slow.py", "main")
    runner.load("quick", QUICK, "quick.py", "main")
    try:
        outcomes = [await runner.call_publish("quick", {"n": n}, CONTEXT) for n in range(3)]
        slow = await runner.call_publish("slow", {"n": 9}, CONTEXT)
        again = await runner.call_publish("quick", {"n": 3}, CONTEXT)
    finally:
        await runner.close()
    assert [json.loads(o.messages[0].payload) for o in outcomes] == [{"from": "quick", "n": n} for n in range(3)]
    assert slow.error is not None and "top level ran longer than 1 s" in slow.error
    assert "top level ran longer" in (runner.load_error("slow") or "")
    assert json.loads(again.messages[0].payload) == {"from": "quick", "n": 3}


async def test_a_paused_script_runs_again_after_its_pause_and_pauses_longer_when_it_fails_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.scripting import runner as runner_module

    clock = [1_000_000.0]
    monkeypatch.setattr(runner_module.time, "time", lambda: clock[0])
    runner = _runner("def main(data, api):\n    return 1 / 0\n")
    try:
        for _ in range(runner_module.FAULT_AFTER):
            await runner.call_publish("upload", DATA, CONTEXT)
        first_pause = runner.resumes_at["upload"] - clock[0]
        clock[0] += first_pause / 2
        assert (await runner.call_publish("upload", DATA, CONTEXT)).error.startswith("paused")  # type: ignore[union-attr]
        clock[0] += first_pause
        again = await runner.call_publish("upload", DATA, CONTEXT)  # called, fails, paused at once, for longer
        assert again.error == "line 2: ZeroDivisionError: division by zero"
        assert runner.resumes_at["upload"] - clock[0] == 2 * first_pause == 2 * runner_module.RESUME_AFTER
        assert "paused for 60 s" in runner.faulted["upload"]
    finally:
        await runner.close()


async def test_ordinary_device_supervisor_code_runs_bare_except_and_builtin_types_included() -> None:
    """Scripts from Device Supervisor's manuals use a bare ``except:`` and test types with
    isinstance; both work, and the bare except still cannot swallow the step budget (see the
    hostile suite)."""
    source = ("import json\n"
              "def main(data, api):\n"
              "    try:\n"
              "        json.loads('not json')\n"
              "        parsed = True\n"
              "    except:\n"
              "        parsed = False\n"
              "    kinds = [isinstance(v, (tuple, list)) for v in ((1,), [1], 'x')]\n"
              "    return {'parsed': parsed, 'kinds': kinds, 'is_dict': type(data) is dict,\n"
              "            'tuple': tuple([1, 2]), 'list': list((3,)), 'str': isinstance('s', str)}\n")
    outcome = await _publish_once(source)
    assert outcome.error is None
    assert json.loads(outcome.messages[0].payload) == {"parsed": False, "kinds": [True, True, False],
                                                       "is_dict": True, "tuple": [1, 2], "list": [3], "str": True}

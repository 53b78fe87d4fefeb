"""The three quickfaas scripts of a real Device Supervisor export run unchanged (or are refused
with a reason). They are read from ../shared, never copied into the project."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.core.errors import ScriptCompileError
from gateway.core.messages import CallContext
from gateway.scripting import ScriptRunner
from tests.conftest import REPO

EXPORT = REPO.parent / "shared" / "data" / "device-supervisor" / "device_supervisor.cfg"
pytestmark = pytest.mark.skipif(not EXPORT.exists(), reason=f"{EXPORT} is not beside this checkout")


def _export() -> dict[str, Any]:
    return json.loads(EXPORT.read_text(encoding="utf-8"))


def _parameters() -> dict[str, Any]:
    return {label["key"]: label["value"] for label in _export()["labels"]}


def _values() -> dict[str, Any]:
    return {"gq": {"1#SSB.JK": {"raw_data": 1, "timestamp": 1700000000, "status": 1},
                   "1#SSB.YX_TIME_S": {"raw_data": 42, "timestamp": 1700000000, "status": 1}},
            "dq": {"2#SSB.GZ": {"raw_data": 0, "timestamp": 1700000000, "status": 1}}}


def _runner(sent: list[Any]) -> ScriptRunner:
    return ScriptRunner(send_now=lambda *args: sent.append(args) or True,
                        queries={"values": lambda _args: {"timestamp": 1700000000.0, "values": _values()}})


async def test_upload_function_runs_unchanged() -> None:
    function = _export()["quickfaas"]["uploadFuncs"][0]
    runner = _runner([])
    runner.load("upload", function["script"], "upload.py", function["funcName"])
    context = CallContext("upload", "default", "/sys/GL5022501068755/up", 1, _parameters())
    try:
        outcome = await runner.call_publish("upload", {"timestamp": 1700000000.0, "group_name": "datagq",
                                                       "values": _values()}, context)
    finally:
        await runner.close()
    assert outcome.error is None
    [message] = outcome.messages
    body = json.loads(message.payload)
    assert message.topic == "/sys/GL5022501068755/up"
    assert (body["cmdId"], body["gatewaySn"], body["devNo"]) == ("103", "GL5022501068755", "8407")
    assert body["1#SSB.YX_TIME_S"] == 42 and body["2#SSB.GZ"] == 0


async def test_download_function_writes_acknowledges_and_answers_reads() -> None:
    function = _export()["quickfaas"]["downloadFuncs"][0]
    runner = _runner([])
    runner.load("download", function["script"], "download.py", function["funcName"])
    context = CallContext("download", "default", "/GL5022501068755/down", 1, _parameters())
    write = json.dumps({"cmdId": 87, "varId": "1#SSB.SD_QD", "writeValue": "1"})
    read = json.dumps({"cmdId": 85, "devId": "840702"})
    try:
        written = await runner.call_subscribe("download", "/GL5022501068755/down", write, context)
        assert written.error is None
        assert [w.values for w in written.writes] == [{"1#SSB.SD_QD": 1}, {"1#SSB.SD_QD": 1}]  # eval('1') -> 1
        callback = written.writes[1]
        assert callback.callback_id is not None and callback.tail[0] == "/sys/GL5022501068755/up"
        result = [{"value": 1, "device": "dq", "var_name": "1#SSB.SD_QD", "result": "OK", "error": ""}]
        acked = await runner.call_write_callback(callback.callback_id, result, callback.tail, context)
        answered = await runner.call_subscribe("download", "/GL5022501068755/down", read, context)
    finally:
        await runner.close()
    assert acked.error is None
    assert [(m.topic, json.loads(m.payload)["msg"]) for m in acked.messages] == [("/sys/GL5022501068755/up", "success")]
    assert answered.error is None
    reply = json.loads(answered.messages[0].payload)
    assert reply["cmdId"] == 86 and reply["devId"] == "840702"
    assert {v["varName"] for v in reply["varList"]} == {"1#SSB.JK", "1#SSB.YX_TIME_S"}  # the gq device's values


def test_the_time_sync_function_is_refused_with_a_reason() -> None:
    function = _export()["quickfaas"]["downloadFuncs"][1]
    runner = _runner([])
    with pytest.raises(ScriptCompileError) as refused:
        runner.load("timesync", function["script"], "timesync.py", function["funcName"])
    assert refused.value.problems == [
        "line 4: import of 'requests' is not allowed (scripts cannot make HTTP requests; "
        "the gateway's own settings are not theirs to change)"]

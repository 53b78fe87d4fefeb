"""Device Supervisor 2.x's write forms, its timeout answer and the calls this gateway refuses,
each with a message that says why."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from gateway.core.errors import GatewayError, ScriptCompileError
from gateway.core.messages import CallContext
from gateway.core.write_forms import results_by_controller, write_values
from gateway.scripting import ScriptRunner, tryout
from gateway.scripting.compiler import compile_script

CONTEXT = CallContext("down", "default", "rule/topic", 1, {})


@contextlib.asynccontextmanager
async def _loaded(source: str) -> AsyncIterator[ScriptRunner]:
    """A runner with ``source`` loaded as "script" (its ``main``), stopped at the end."""
    runner = ScriptRunner(send_now=lambda *_: False)
    runner.load("script", source, "script.py", "main")
    try:
        yield runner
    finally:
        await runner.close()


def test_the_three_write_forms() -> None:
    assert write_values({"SP1": 12}) == ({"SP1": 12}, False)
    assert write_values({"PLC1": {"SP1": 12}}) == ({"PLC1": {"SP1": 12}}, False)
    assert write_values([{"name": "PLC1", "measures": [{"name": "SP1", "value": 12}, {"name": "SP2", "value": 1}]},
                         {"name": "PLC2", "measures": [{"name": "SP1", "value": 3}]}]) == (
        {"PLC1": {"SP1": 12, "SP2": 1}, "PLC2": {"SP1": 3}}, True)
    for bad in ({}, [], [{"name": "PLC1"}], [{"name": "PLC1", "measures": [{"name": "SP1"}]}], "SP1=12", None):
        with pytest.raises(ValueError, match="write a dict like"):
            write_values(bad)


def test_results_by_controller_say_error_code_and_reason() -> None:
    results = [{"value": 1, "device": "PLC1", "var_name": "SP1", "result": "OK", "error": ""},
               {"value": 2, "device": "PLC1", "var_name": "RO", "result": "Failed", "error": "'RO' is read-only"}]
    assert results_by_controller(results) == [{"name": "PLC1", "measures": [
        {"name": "SP1", "error_code": 0, "error_reason": "Success"},
        {"name": "RO", "error_code": 1, "error_reason": "'RO' is read-only"}]}]


async def test_a_timed_out_write_reaches_a_ds1_callback_as_a_tuple() -> None:
    """DS 1.x download callbacks test isinstance(send_result, tuple) for the timeout."""
    source = ("def main(topic, payload, wizard_api):\n    wizard_api.write_plc_values({'SP1': 1}, ack, 'tail')\n"
              "def ack(send_result, tail, wizard_api):\n"
              "    wizard_api.awsiot_publish('ack', {'timeout': isinstance(send_result, tuple),\n"
              "                                      'result': list(send_result), 'tail': tail}, 1)\n")
    async with _loaded(source) as runner:
        call = await runner.call_subscribe("script", "cmd", "{}", CONTEXT)
        [write] = call.writes
        assert write.callback_id is not None
        acked = await runner.call_write_callback(write.callback_id, ["error", -110, "timeout"], write.tail, CONTEXT)
    assert [json.loads(m.payload) for m in acked.messages] == [
        {"timeout": True, "result": ["error", -110, "timeout"], "tail": "tail"}]


@pytest.mark.parametrize(("source", "problem"), [
    ("from quickfaas.sparkplugb import publish_node_online\n",
     "line 1: publish_node_online: Sparkplug B scripts are not supported: a cloud of type sparkplug publishes "
     "the measures and takes the host's commands itself"),
    ("import quickfaas.nothing\n", "line 1: import of 'quickfaas.nothing' is not allowed (Device Supervisor modules "
                                   "here: quickfaas.remotebus, quickfaas.awsiot"),
])
def test_what_is_not_here_is_refused_at_load_with_a_reason(source: str, problem: str) -> None:
    with pytest.raises(ScriptCompileError) as refused:
        compile_script(source, "s.py")
    assert refused.value.problems[0].startswith(problem)


async def test_without_a_gateway_configuration_changes_fail_and_say_why(caplog: pytest.LogCaptureFixture) -> None:
    source = ("from quickfaas.config import set\n"
              "def main(message, wizard_api):\n"
              "    wizard_api.awsiot_publish('set', set({}), 1)\n"
              "    try:\n"
              "        wizard_api.update_group({'group_name': 'g', 'upload_interval': 5})\n"
              "    except Exception as e:\n"
              "        wizard_api.awsiot_publish('why', str(e), 1)\n")
    async with _loaded(source) as runner:
        outcome = await runner.call_publish("script", {"timestamp": 1, "group_name": "g", "values": {}}, CONTEXT)
    assert [m.payload.decode() for m in outcome.messages] == [
        "failed", "update_group: config_set: not available in this run"]
    assert "config.set failed: config_set: not available in this run" in caplog.text


async def test_the_top_level_reads_parameters_but_cannot_publish() -> None:
    """Real scripts read their parameters at the top level; publishing there has no call to belong to."""
    context = CallContext("up", "default", "rule/topic", 1, {"SN": "GL1"})
    data = {"timestamp": 1, "group_name": "g", "values": {}}
    reading = ("from quickfaas.global_dict import get_global_parameter\nSN = get_global_parameter()['SN']\n"
               "def main(message, wizard_api):\n    return SN\n")
    assert await tryout.test_source(reading, "up.py", "main", data, context) == [
        'publish (stored, then sent) -> rule/topic qos 1: GL1']
    publishing = "from quickfaas.remotebus import publish\npublish('a', 'b', 1)\ndef main(message):\n    pass\n"
    with pytest.raises(GatewayError, match="not at its top level"):
        await tryout.test_source(publishing, "up.py", "main", data, context)

"""The examples of InHand's DSA API document (Device Supervisor 2.x), written here in our own
words, run unchanged in a real gateway: a pymodbus PLC simulator, Mosquitto, the script worker.

Each script does what the document's example does and publishes what it got back, so the test
can check every documented result shape on the broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gateway.demo.broker import MosquittoBroker
from tests.conftest import free_port
from tests.integration.gateway_harness import TopicInbox, mqtt_cloud, running_gateway, still_modbus_plc, write_config
from tests.waiting import until

NESTED_PUBLISH = """
import json
from common.Logger import logger
from quickfaas.remotebus import publish


def main(message, wizard_api, cloudName):
    logger.debug("publish topic:%s, payload: %s, cloudName: %s" % (__topic__, message, cloudName))
    publish(__topic__, json.dumps(message), __qos__, cloud_name=cloudName)
"""
FLAT_PUBLISH = """
import json
from common.Logger import logger
from quickfaas.remotebus import publish


def main(message, cloudName):
    logger.debug("publish topic:%s, payload: %s, cloudName: %s" % (__topic__, message, cloudName))
    publish(__topic__, json.dumps(message), __qos__, cloud_name=cloudName)
"""
# Every documented call of section 1, as the document's examples make them; the results go out
# on dsa/result so that the test sees what a script saw.
EVERY_CALL = """
import json
import time
from common.Logger import logger
from quickfaas.remotebus import publish
from quickfaas.measure import write, write_plc_values, recall, recall2
from quickfaas.global_dict import get, get_global_parameter
from quickfaas.controller import get_status, get_controller_status
from quickfaas.clouds import get_status as cloud_status
from quickfaas import config
from quickfaas.global_variables import get as get_variable, set as set_variable
from quickfaas.file import faas_write_file, faas_read_file
from quickfaas.LWTSDB import insert_request, query_request, remove_request
from quickfaas.messagebus import publish as publish_local

seen = {}


def write_callback(message, userdata):
    publish("dsa/write_callback", json.dumps([message, userdata]), 1)


def write_callback2(message, userdata, wizard_api):
    publish("dsa/write_callback2", json.dumps([message, userdata, wizard_api.get_global_parameter()["SN"]]), 1)


def recall2_callback(message, userdata):
    seen["recall2"] = [sorted(message["values"]["PLC1"]), message["values"]["PLC1"]["SP1"]["status"], userdata]


def table_callback(message, userdata):
    seen.setdefault("tables", []).append([userdata, message])


def action_name():
    if seen or recall([{"name": "PLC1", "measures": ["Temp"]}])[0]["measures"][0]["health"] != 1:
        return  # once, when the PLC has been read
    seen["started"] = True
    result = {}
    result["write1"] = write({"SP1": 12})
    result["write2"] = write({"PLC1": {"SP2": 13}})
    result["write3"] = write([{"name": "PLC1", "measures": [{"name": "SP1", "value": 14}]}])
    try:
        write({"Nope": 1})
    except Exception as e:
        result["unknown"] = str(e)
    write_plc_values(message={"SP2": 21}, callback=write_callback, userdata="one")
    write_plc_values(message=[{"name": "PLC1", "measures": [{"name": "SP2", "value": 22}]}],
                     callback=write_callback2, userdata="two")
    result["recall_all"] = recall()
    result["recall_one"] = recall([{"name": "PLC1", "measures": ["Temp"]}])
    recall2(names=[{"name": "PLC1", "measures": []}], callback=recall2_callback, userdata="three")
    result["global_dict"] = get()
    result["global_parameter"] = get_global_parameter()
    result["controller_status"] = get_status()
    result["controller_status_by_name"] = get_controller_status()
    result["cloud"] = cloud_status()
    cfg = config.get()
    result["config"] = {"measures": [[m["ctrlName"], m["name"], m["readWrite"]] for m in cfg["measures"]],
                        "groups": cfg["groups"], "labels": cfg["labels"], "text": json.dumps(cfg)}
    result["config_set"] = [config.set(cfg)]  # nothing changes
    changed = json.loads(json.dumps(cfg))
    changed["groups"][0]["uploadInterval"] = 5
    result["config_set"].append(config.set(changed))  # not allowed by this configuration
    set_variable("key", "value")
    result["variables"] = [get_variable(), get_variable("key")]
    faas_write_file("/var/user/app/device_supervisor/test.txt", mode="w", data="test3", encode="utf-8")
    faas_write_file("/var/user/app/device_supervisor/test.txt", mode="a", data="+4")
    result["file"] = faas_read_file("/var/user/app/device_supervisor/test.txt", mode="r", encode="utf-8")
    try:
        faas_read_file("../../etc/passwd")
    except Exception as e:
        result["escape"] = str(e)
    now = int(time.time())
    insert_request("default", [{str(now - 20): {"controller1": {"measure1": [1, 100], "measure2": [1, "test"]}}}], 1)
    insert_request("default", [{str(now - 10): {"controller1": {"measure1": [1, 101], "measure2": [1, "t2"]}}}], 0,
                   callback=table_callback, userdata="insert")
    query_request("default", callback=table_callback, userdata="query")
    query_request("default", filter={"default": "deny_all", "white_list": {"controller1": ["measure1"]}}, limit=1,
                  callback=table_callback, userdata="filtered")
    remove_request("default", end_time=str(now - 15), callback=table_callback, userdata="remove")
    query_request("default", callback=table_callback, userdata="after")
    result["local_bus"] = publish_local("local/hello", {"from": "messagebus"}, 0)
    result["seen"] = seen
    publish("dsa/result", json.dumps(result), 1)
"""
DOWNLOAD = """
import json
from common.Logger import logger
from quickfaas.measure import write_plc_values
from quickfaas.remotebus import publish


def ack(message, userdata):
    publish("dsa/ack", json.dumps({"result": message, "userdata": userdata}), 1)


def main(topic, payload):
    request = json.loads(payload)
    write_plc_values(request, callback=ack, userdata=topic)
"""


def _config(modbus_port: int, broker_port: int, data_dir: Path) -> dict[str, Any]:
    def measure(name: str, address: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "controller": "PLC1", "group": "default", "address": address, "type": "INT", **extra}

    local = {**mqtt_cloud(broker_port), "name": "local", "client_id": "gateway-local-bus", "local_bus": True}
    return {
        "gateway": {"name": "dsa", "data_dir": str(data_dir), "labels": {"SN": "GL9021025088033"}},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}",
                         "sample_period": 0.2, "timeout": 1.0, "args": {"unit_id": 1}}],
        "measures": [measure("Temp", "40001"), measure("SP1", "40002", access="rw"),
                     measure("SP2", "40003", access="rw")],
        "groups": [{"name": "default", "upload_interval": 0.5}],
        "clouds": [mqtt_cloud(broker_port), local],
        "publish": [
            {"name": "nested", "cloud": "default", "topic": "dsa/nested", "qos": 1, "groups": ["default"],
             "function": "main", "script": "scripts/nested.py"},
            {"name": "flat", "cloud": "default", "topic": "dsa/flat", "qos": 1, "groups": ["default"],
             "function": "main", "script": "scripts/flat.py"},
        ],
        "subscribe": [{"name": "down", "cloud": "default", "topic": "dsa/down", "qos": 1, "script": "scripts/down.py"}],
        "functions": [{"name": "every_call", "mode": "periodic", "period": 0.5, "script": "scripts/every_call.py",
                       "function": "action_name", "cloud": "default"}],
    }


async def test_every_documented_call_runs_unchanged_in_a_real_gateway(
    tmp_path: Path, broker: MosquittoBroker, subscribe: Any
) -> None:
    modbus_port = free_port()
    path = write_config(tmp_path, _config(modbus_port, broker.port, tmp_path / "state"),
                        {"nested.py": NESTED_PUBLISH, "flat.py": FLAT_PUBLISH, "every_call.py": EVERY_CALL,
                         "down.py": DOWNLOAD})
    plc = await still_modbus_plc(path, modbus_port, {"Temp": 215})
    results = TopicInbox(subscribe("dsa/#"))
    local = subscribe("local/#", client_id="local-subscriber")
    try:
        async with running_gateway(path) as gateway:
            result = await results.first("dsa/result")
            nested = await results.first("dsa/nested")
            flat = await results.first("dsa/flat")
            hello = await asyncio.to_thread(local.get, 10)
            first_callback = await results.first("dsa/write_callback")
            second_callback = await results.first("dsa/write_callback2")
            await until(lambda: plc.get_value("SP2") == 22, "the asynchronous writes to reach the PLC", 10)
            from paho.mqtt import publish as mqtt_publish
            await asyncio.to_thread(mqtt_publish.single, "dsa/down", json.dumps({"PLC1": {"SP1": 33}}), 1,
                                    hostname="127.0.0.1", port=broker.port)
            ack = await results.first("dsa/ack")
            assert plc.get_value("SP1") == 33
            variables = gateway.script_services.variables
    finally:
        await plc.stop()
    # 1.1: the two message formats, told apart by the parameter named wizard_api
    assert nested["group_name"] == "default" and isinstance(nested["timestampMsec"], int)
    temp = nested["values"]["PLC1"]["Temp"]
    assert (temp["raw_data"], temp["status"]) == (215, 1) and temp["timestampMsec"] // 1000 == temp["timestamp"]
    assert flat["group"] == "default" and "group_name" not in flat
    row = next(r for r in flat["measures"] if r["name"] == "Temp")
    assert (row["ctrlName"], row["value"], row["health"]) == ("PLC1", 215, 1) and "timestampMsec" in row
    # 1.2: write in the three forms, the two result shapes; write_plc_values' callbacks
    assert result["write1"] == [{"value": 12, "device": "PLC1", "var_name": "SP1", "result": "OK", "error": "Success"}]
    assert result["write2"][0]["result"] == "OK"
    assert result["write3"] == [{"name": "PLC1", "measures": [{"name": "SP1", "error_code": 0,
                                                                "error_reason": "Success"}]}]
    assert "unknown measure 'Nope'" in result["unknown"]  # format 1: an unknown name raises
    assert first_callback == [[{"value": 21, "device": "PLC1", "var_name": "SP2", "result": "OK", "error": "Success"}],
                              "one"]
    assert second_callback == [[{"name": "PLC1", "measures": [{"name": "SP2", "error_code": 0,
                                                               "error_reason": "Success"}]}], "two", "GL9021025088033"]
    # 1.3: recall's shape: controllers with their measures
    assert {m["name"] for c in result["recall_all"] for m in c["measures"]} == {"Temp", "SP1", "SP2"}
    [plc1] = result["recall_one"]
    assert plc1["name"] == "PLC1" and plc1["health"] == 1
    assert [(m["name"], m["value"], m["health"]) for m in plc1["measures"]] == [("Temp", 215, 1)]
    assert result["seen"]["recall2"] == [["SP1", "SP2", "Temp"], 1, "three"]
    # 1.4-1.8: parameters, statuses, configuration (without secrets), its refusal
    assert {"key": "SN", "value": "GL9021025088033"} in result["global_dict"]
    assert result["global_parameter"]["SN"] == "GL9021025088033"
    assert [(c["name"], c["health"]) for c in result["controller_status"]] == [("PLC1", 1)]
    assert result["controller_status_by_name"]["PLC1"]["health"] == 1
    assert result["cloud"] is True
    assert ["PLC1", "SP1", "rw"] in result["config"]["measures"]
    assert result["config"]["groups"] == [{"name": "default", "uploadInterval": 0.5, "enableHistory": 0}]
    assert {"key": "SN", "value": "GL9021025088033"} in result["config"]["labels"]
    assert "password" not in result["config"]["text"] and "gateway-under-test" not in result["config"]["text"]
    assert result["config_set"] == ["success", "failed"]
    # 1.9, 1.10: files, confined to the script's folder
    assert result["file"] == "test3+4"
    assert (tmp_path / "state" / "script_files" / "every_call.py" / "var/user/app/device_supervisor/test.txt"
            ).read_text() == "test3+4"
    assert "no '..'" in result["escape"]
    # 1.12: the table store; insert without an answer, query with filters, remove before a time
    tables = {name: message for name, message in result["seen"]["tables"]}
    assert tables["insert"] == {"return_code": 0, "return_msg": "okay"}
    assert tables["query"]["total"] == 2 and len(tables["query"]["data"]) == 2
    [filtered] = tables["filtered"]["data"]
    assert list(filtered.values()) == [{"controller1": {"measure1": [1, 100]}}]
    assert tables["after"]["total"] == 1
    # 1.14, 1.15: global variables; the local bus
    assert result["variables"] == [{"key": "value"}, "value"] and variables == {"key": "value"}
    assert result["local_bus"] is True and json.loads(hello.payload) == {"from": "messagebus"}
    # the callbacks of write_plc_values ran after the call, with each form's result shape
    assert ack == {"result": [{"value": 33, "device": "PLC1", "var_name": "SP1", "result": "OK", "error": "Success"}],
                   "userdata": "dsa/down"}


RECALL_GROUP = """
from quickfaas.measure import recall2


def main():
    recall2(["slow"], "group")
"""


async def test_recalling_a_group_uploads_it_now(tmp_path: Path, broker: MosquittoBroker, subscribe: Any) -> None:
    """recall_type "group": the group goes out through its publish rules at once, not at its hourly interval."""
    config = {
        "gateway": {"name": "dsa", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "L", "controller": "Sim", "group": "slow", "address": "sine", "type": "FLOAT"}],
        "groups": [{"name": "slow", "upload_interval": 3600}],
        "clouds": [mqtt_cloud(broker.port)],
        "publish": [{"name": "slow", "cloud": "default", "topic": "dsa/slow", "qos": 1, "groups": ["slow"]}],
        "functions": [{"name": "recall", "mode": "startup", "script": "scripts/recall.py", "cloud": "default"}],
    }
    path = write_config(tmp_path, config, {"recall.py": RECALL_GROUP})
    inbox = TopicInbox(subscribe("dsa/slow"))
    async with running_gateway(path):
        uploaded = await inbox.first("dsa/slow", timeout=10)
    assert uploaded["group_name"] == "slow" and "L" in uploaded["values"]["Sim"]


QUERY_GROUP_HISTORY = """
import time
from quickfaas.LWTSDB import insert_request, query_request
from quickfaas.remotebus import publish

answers = {}


def keep(message, userdata):
    answers[userdata] = message


def main():
    now = int(time.time())
    insert_request("g", [{str(now + 100): {"Notes": {"note": [1, "by the script"]}}}], 1)
    query_request("g", callback=keep, userdata="all")
    query_request("g", end_time=str(now + 50), limit=1, callback=keep, userdata="newest")
    recorded = [d for row in answers["all"]["data"] for d in row.values() if "Sim" in d]
    if len(recorded) >= 2:  # the recorder has written two seconds of the group
        publish("dsa/history", answers, 1)
"""


async def test_a_groups_table_holds_its_recorded_history(tmp_path: Path, broker: MosquittoBroker,
                                                           subscribe: Any) -> None:
    """As in Device Supervisor, a group with history is a table query_request reads; rows a script
    inserts under the group's name are merged in."""
    config = {
        "gateway": {"name": "dsa", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.1}],
        "measures": [{"name": "L", "controller": "Sim", "group": "g", "address": "sine", "type": "FLOAT"}],
        "groups": [{"name": "g", "upload_interval": 0.2, "history": True}],
        "clouds": [mqtt_cloud(broker.port)],
        "functions": [{"name": "query", "mode": "periodic", "period": 0.5, "script": "scripts/query.py",
                       "cloud": "default"}],
    }
    path = write_config(tmp_path, config, {"query.py": QUERY_GROUP_HISTORY})
    inbox = TopicInbox(subscribe("dsa/history"))
    async with running_gateway(path):
        answers = await inbox.first("dsa/history", timeout=20)
    rows = [(int(second), document) for row in answers["all"]["data"] for second, document in row.items()]
    assert [second for second, _ in rows] == sorted(second for second, _ in rows)
    recorded = [document["Sim"]["L"] for _, document in rows if "Sim" in document]
    assert len(recorded) >= 2 and all(health == 1 and isinstance(value, float) for health, value in recorded)
    assert rows[-1][1]["Notes"] == {"note": [1, "by the script"]}  # the script's own row, the newest
    [(newest, document)] = [(int(s), d) for row in answers["newest"]["data"] for s, d in row.items()]
    # only an end: the newest row first (asked after the first query, it may be newer still)
    assert "Sim" in document and newest >= max(second for second, document in rows if "Sim" in document)

"""The publish and subscribe examples of InHand's Device Supervisor manuals (the 1.x manual's six
publish and four subscribe examples with wizard_api, the 2.x manual's five and four with quickfaas),
written here in our own words, run unchanged in a real gateway against a pymodbus PLC and Mosquitto."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from paho.mqtt import publish as mqtt

from gateway.demo.broker import MosquittoBroker
from tests.conftest import free_port
from tests.integration.gateway_harness import TopicInbox, mqtt_cloud, running_gateway, still_modbus_plc, write_config
from tests.waiting import until

# --- Device Supervisor 1.x manual: publish examples 1-6 (wizard_api) ---
DS1_PUBLISH = """
import json
import logging
from datetime import datetime
from common.Logger import logger

IS_UPLOAD_CONFIG = True


def rows(data_collect):
    out = []
    for device, val_dict in data_collect['values'].items():
        row = {"Device": device, "timestamp": data_collect["timestamp"], "Data": {}}
        for name, val in val_dict.items():
            row["Data"][name] = val["raw_data"]
        out.append(row)
    return out


def by_return(data_collect, wizard_api):
    value_list = rows(data_collect)
    logging.info(value_list)
    return value_list


def alarms_upload_test(data_collect, wizard_api):
    alarm_list = []
    for alarm_name, alarm_info in data_collect['values'].items():
        alarm_list.append({"Alarm_name": alarm_name, "timestamp": data_collect["timestamp"],
                           "Alarm_status": alarm_info['current'], "Alarm_value": alarm_info['value'],
                           "Alarm_content": alarm_info['alarm_content']})
    return alarm_list


def vars_cache_test(data_collect, wizard_api):
    utc_time = datetime.utcfromtimestamp(data_collect["timestamp"])
    value_list = [{"DeviceSN": r["Device"], "Time": utc_time.strftime('%Y-%m-%dT%H:%M:%S.%fZ'), "Data": r["Data"]}
                  for r in rows(data_collect)]
    if not wizard_api.mqtt_publish("m1/p3", json.dumps(value_list), 1):
        wizard_api.save_data({"topic": "m1/p3", "qos": 1, "payload": value_list})
        logger.info("Save data:%s" % value_list)


def vars_save_test(data_collect, wizard_api):
    wizard_api.save_data(rows(data_collect), 'default')


def upload_tagconfig(recv, wizard_api):
    global IS_UPLOAD_CONFIG
    if IS_UPLOAD_CONFIG:
        wizard_api.get_tag_config(tagconfig)
        IS_UPLOAD_CONFIG = False


def tagconfig(config, tail, wizard_api):
    devices = []
    for device in config['devices']:
        if device['protocol'] == "ModbusTCP":
            devices.append({"Device": device['device_name'], "PLCProtocol": device['protocol'],
                            "IP Address": device['ip'], "Port": device['port'], "SlaveAddress": device['slave'],
                            "Endian": device['byte_order']})
    wizard_api.mqtt_publish("m1/Config/DeviceInfo", json.dumps(devices), 1)
    groups = {g["group_name"]: g for g in config['groups']}
    tags = []
    for var in config['vars']:
        group = groups[var['group']]
        tags.append({"Tag": var["var_name"], "Address": var["address"], "ValueType": var["data_type"],
                     "AccessLevel": var["read_write"], "Mode": var["mode"], "Unit": var["unit"],
                     "Description": var["desc"], "Device": var["device"], "SampleRate": group["polling_interval"],
                     "PublishInterval": group["upload_interval"]})
    wizard_api.mqtt_publish("m1/Config/TagConfiguration", json.dumps(tags), 1)
    alarms = []
    for alarm in config['warning']:
        alarms.append({'Warn_name': alarm['warn_name'], 'Group': alarm['group'],
                       'Alarm_content': alarm['alarm_content'], 'Condition1': alarm['condition1'],
                       'Operand1': alarm['operand1'],
                       'Combine_method': alarm['combine_method'], 'Condition2': alarm['condition2'],
                       'Operand2': alarm['operand2'], 'Device': alarm['device'], 'Var_name': alarm['var_name'],
                       'Address': alarm['address']})
    wizard_api.mqtt_publish("m1/Config/AlarmInfo", json.dumps(alarms), 1)


def with_parameter(data_collect, wizard_api):
    global_parameter = wizard_api.get_global_parameter()
    value_list = rows(data_collect)
    for row in value_list:
        row["DeviceID"] = global_parameter["device_id"]
    return value_list
"""
# --- Device Supervisor 1.x manual: subscribe examples 1-4 ---
DS1_SUBSCRIBE = """
import json
import logging
from common.Logger import logger


def ctl_test(topic, payload, wizard_api):
    payload = json.loads(payload)
    if payload["method"] == "setValue":
        if "Device" in payload:
            message = {payload["Device"]: {payload["TagName"]: payload["TagValue"]}}
        else:
            message = {payload["TagName"]: payload["TagValue"]}
        ack_tail = [topic.replace('request', 'response'), message]
        wizard_api.write_plc_values(message, ack, ack_tail, timeout=0.5)


def ack(send_result, ack_tail, wizard_api):
    topic = ack_tail[0]
    if isinstance(send_result, tuple):
        resp_data = {"Status": "timeout", "Data": ack_tail[1]}
    else:
        resp_data = {"Status": send_result[0]["result"], "Data": ack_tail[1]}
    wizard_api.mqtt_publish(topic, json.dumps(resp_data), 0)


def recall_test(topic, payload, wizard_api):
    payload = json.loads(payload)
    if payload["command"] == "Upload immediately":
        wizard_api.recall_data(recall)


def recall(data_collect, tail, wizard_api):
    value_list = []
    for device, val_dict in data_collect["values"].items():
        value_dict = {"DeviceSN": device, "timestamp": data_collect["timestamp"], "Data": []}
        for name, val in val_dict.items():
            value_dict["Data"].append({name: val["raw_data"]})
        value_list.append(value_dict)
    wizard_api.mqtt_publish("m1/recalled", json.dumps(value_list), 1)
"""
# --- Device Supervisor 2.x manual: publish examples 1-5 (quickfaas) ---
DS2_PUBLISH = """
import json
from common.Logger import logger
from quickfaas.remotebus import publish
from quickfaas.config import get
from quickfaas.global_dict import get_global_parameter

IS_UPLOAD_CONFIG = True
AT_LOAD = get_global_parameter()  # scripts read their parameters at the top level too


def main(message, wizard_api):
    value_list = []
    for device, val_dict in message['values'].items():
        value_dict = {"Device": device, "timestamp": message["timestamp"], "Data": {}}
        for id, val in val_dict.items():
            value_dict["Data"][id] = val["raw_data"]
        value_list.append(value_dict)
    publish(__topic__, json.dumps(value_list), __qos__)


def alarms(message, wizard_api):
    logger.info(message)
    publish(__topic__, json.dumps(message), __qos__)


def with_history_topic(message, wizard_api):
    value_list = [{"Device": d, "Data": {k: v["raw_data"] for k, v in vals.items()}}
                  for d, vals in message['values'].items()]
    wizard_data = {"topic": "m2/history", "qos": 1, "payload": json.dumps(value_list)}
    publish(__topic__, json.dumps(value_list), __qos__, wizard_data=wizard_data)


def config_once(message, wizard_api):
    global IS_UPLOAD_CONFIG
    if IS_UPLOAD_CONFIG:
        config = get()
        IS_UPLOAD_CONFIG = False
        publish("m2/Config/ControllerInfo", config["controllers"], 1)
        publish("m2/Config/MeasureInfo", config["measures"], 1)
        publish("m2/Config/AlarmInfo", config["alarms"], 1)


def with_parameter(message, wizard_api):
    global_parameter = get_global_parameter()
    value_list = [{"Device": d, "DeviceID": global_parameter["device_id"], "AtLoad": AT_LOAD["device_id"]}
                  for d in message['values']]
    publish(__topic__, json.dumps(value_list), __qos__)
"""
# --- Device Supervisor 2.x manual: subscribe examples 1-4 ---
DS2_SUBSCRIBE = """
from quickfaas.measure import write_plc_values, recall2
from quickfaas.remotebus import publish
from common.Logger import logger
import json


def main(topic, payload):
    logger.info("topic: %s, payload: %s" % (topic, payload))
    payload = json.loads(payload)
    if payload["method"] == "setValue":
        message = {payload["Device"]: {payload["TagName"]: payload["TagValue"]}}
        write_plc_values(message)
        userdata = [topic.replace('request', 'response'), message]
        write_plc_values(message, callback=ack, userdata=userdata, timeout=10)


def ack(send_result, userdata):
    topic = userdata[0]
    try:
        resp_data = {"Status": send_result[0]["result"], "Data": userdata[1]}
    except:
        resp_data = {"Status": "Failed", "Data": userdata[1]}
    publish(topic, json.dumps(resp_data), 1)


def recall_now(topic, payload):
    realtime_data = recall2(callback=recall_data, userdata="m2/recalled", timeout=10)


def recall_data(realtime_data, userdata):
    publish(userdata, json.dumps(realtime_data), 1)
"""


def _rule(name: str, topic: str, script: str, function: str, source: str = "group") -> dict[str, Any]:
    rule = {"name": name, "cloud": "default", "topic": topic, "qos": 1, "function": function,
            "script": f"scripts/{script}", "source": source}
    return rule | ({"groups": ["default"]} if source == "group" else {})


def _config(modbus_port: int, broker_port: int, data_dir: Path) -> dict[str, Any]:
    def measure(name: str, address: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "controller": "PLC1", "group": "default", "address": address, "type": "FLOAT", **extra}

    subscribe = [{"name": name, "cloud": "default", "topic": topic, "qos": 1, "function": function,
                  "script": f"scripts/{script}"}
                 for name, topic, script, function in (("s1", "m1/request/write", "ds1_sub.py", "ctl_test"),
                                                       ("s1r", "m1/recall", "ds1_sub.py", "recall_test"),
                                                       ("s2", "m2/request/write", "ds2_sub.py", "main"),
                                                       ("s2r", "m2/recall", "ds2_sub.py", "recall_now"))]
    return {
        "gateway": {"name": "manuals", "data_dir": str(data_dir), "labels": {"device_id": "dev-7"}},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{modbus_port}",
                         "sample_period": 0.2, "timeout": 1.0, "args": {"unit_id": 1}}],
        "measures": [measure("Speed", "40001"), measure("SP1", "40003", access="rw"),
                     measure("SP2", "40005", access="rw")],
        "groups": [{"name": "default", "upload_interval": 1.0}],
        "alarms": [{"name": "Warn1", "measure": "Speed", "level": 1, "content": "The speed has exceeded 30.",
                    "cond1": {"op": "gt", "value": 30}, "label": "warning"}],
        "clouds": [mqtt_cloud(broker_port)],
        "publish": [
            _rule("p1", "m1/p1", "ds1_pub.py", "by_return"),
            _rule("p2", "m1/p2", "ds1_pub.py", "alarms_upload_test", source="alarm"),
            _rule("p3", "m1/unused", "ds1_pub.py", "vars_cache_test"),
            _rule("p4", "m1/p4", "ds1_pub.py", "vars_save_test"),
            _rule("p5", "m1/unused", "ds1_pub.py", "upload_tagconfig"),
            _rule("p6", "m1/${device_id}/p6", "ds1_pub.py", "with_parameter"),
            _rule("q1", "m2/p1", "ds2_pub.py", "main"),
            _rule("q2", "m2/p2", "ds2_pub.py", "alarms", source="alarm"),
            _rule("q3", "m2/p3", "ds2_pub.py", "with_history_topic"),
            _rule("q4", "m2/unused", "ds2_pub.py", "config_once"),
            _rule("q5", "m2/p5", "ds2_pub.py", "with_parameter"),
        ],
        "subscribe": subscribe,
    }


async def test_the_manuals_examples_run_unchanged(tmp_path: Path, broker: MosquittoBroker, subscribe: Any) -> None:
    modbus_port = free_port()
    path = write_config(tmp_path, _config(modbus_port, broker.port, tmp_path / "state"),
                        {"ds1_pub.py": DS1_PUBLISH, "ds1_sub.py": DS1_SUBSCRIBE, "ds2_pub.py": DS2_PUBLISH,
                         "ds2_sub.py": DS2_SUBSCRIBE})
    plc = await still_modbus_plc(path, modbus_port, {"Speed": 33.0})
    inbox = TopicInbox(subscribe("#"))

    async def send(topic: str, payload: dict[str, Any]) -> None:
        await asyncio.to_thread(mqtt.single, topic, json.dumps(payload), 1, hostname="127.0.0.1", port=broker.port)

    try:
        async with running_gateway(path):
            p1 = await inbox.first("m1/p1")
            await send("m1/request/write", {"method": "setValue", "TagName": "SP1", "TagValue": 12.3})
            await until(lambda: plc.get_value("SP1") == 12.3, "DS1 subscribe example 1 to write SP1", 10)
            ds1_ack = await inbox.first("m1/response/write")
            await send("m1/request/write", {"method": "setValue", "Device": "PLC1", "TagName": "SP2", "TagValue": 4.5})
            await until(lambda: plc.get_value("SP2") == 4.5, "DS1 subscribe example 2 to write SP2", 10)
            await send("m1/recall", {"command": "Upload immediately"})
            await send("m2/request/write", {"method": "setValue", "Device": "PLC1", "TagName": "SP2", "TagValue": 6.5})
            ds2_ack = await inbox.first("m2/response/write")
            await send("m2/recall", {"command": "now"})
            first = {topic: await inbox.first(topic) for topic in (
                "m1/p2", "m1/p3", "m1/p4", "m1/Config/DeviceInfo", "m1/Config/TagConfiguration",
                "m1/Config/AlarmInfo", "m1/dev-7/p6", "m1/recalled", "m2/p1", "m2/p2", "m2/p3",
                "m2/Config/ControllerInfo", "m2/Config/MeasureInfo", "m2/Config/AlarmInfo", "m2/p5", "m2/recalled")}
    finally:
        await plc.stop()
    # DS 1.x publish examples
    assert p1[0]["Device"] == "PLC1" and p1[0]["Data"]["Speed"] == 33.0
    [alarm] = first["m1/p2"]
    assert (alarm["Alarm_name"], alarm["Alarm_status"], alarm["Alarm_value"]) == ("Warn1", "on", 33.0)
    assert first["m1/p3"][0]["DeviceSN"] == "PLC1" and first["m1/p3"][0]["Time"].endswith("Z")
    assert first["m1/p4"][0]["Data"]["Speed"] == 33.0
    assert first["m1/Config/DeviceInfo"] == [{"Device": "PLC1", "PLCProtocol": "ModbusTCP", "IP Address": "127.0.0.1",
                                              "Port": modbus_port, "SlaveAddress": 1, "Endian": "abcd"}]
    tags = {t["Tag"]: t for t in first["m1/Config/TagConfiguration"]}
    assert tags["SP1"]["AccessLevel"] == "read/write" and tags["Speed"]["AccessLevel"] == "read"
    assert (tags["Speed"]["Address"], tags["Speed"]["ValueType"], tags["Speed"]["SampleRate"],
            tags["Speed"]["PublishInterval"]) == ("40001", "FLOAT", 0.2, 1.0)
    assert first["m1/Config/AlarmInfo"] == [{
        "Warn_name": "Warn1", "Group": "warning", "Alarm_content": "The speed has exceeded 30.", "Condition1": "Gt",
        "Operand1": "30", "Combine_method": "None", "Condition2": "", "Operand2": "", "Device": "PLC1",
        "Var_name": "Speed", "Address": "40001"}]
    assert first["m1/dev-7/p6"][0]["DeviceID"] == "dev-7"
    # DS 1.x subscribe examples
    assert ds1_ack == {"Status": "OK", "Data": {"SP1": 12.3}}
    recalled = {k: v for item in first["m1/recalled"][0]["Data"] for k, v in item.items()}
    assert recalled["Speed"] == 33.0
    # DS 2.x publish examples
    assert first["m2/p1"][0]["Data"]["Speed"] == 33.0
    assert first["m2/p2"]["values"]["Warn1"]["current"] == "on" and first["m2/p2"]["group_name"] == "warning"
    assert first["m2/p3"][0]["Data"]["Speed"] == 33.0  # connected: sent at once to the rule's topic
    assert [c["name"] for c in first["m2/Config/ControllerInfo"]] == ["PLC1"]
    assert {m["name"] for m in first["m2/Config/MeasureInfo"]} == {"Speed", "SP1", "SP2"}
    assert first["m2/Config/AlarmInfo"][0]["name"] == "Warn1"
    assert first["m2/p5"] == [{"Device": "PLC1", "DeviceID": "dev-7", "AtLoad": "dev-7"}]
    # DS 2.x subscribe examples
    assert ds2_ack == {"Status": "OK", "Data": {"PLC1": {"SP2": 6.5}}}
    assert plc.get_value("SP2") == 6.5
    assert first["m2/recalled"]["values"]["PLC1"]["Speed"]["raw_data"] == 33.0

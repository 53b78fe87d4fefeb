"""Convert a Device Supervisor 2.x configuration export (the ``.cfg`` JSON) to our config.yaml.

Controllers, measures, groups, alarms, clouds, labels, the misc cache and log settings and the
quickfaas upload, download and generic functions are carried over; each function's script is
written to ``scripts/``; an enabled Modbus TCP slave or OPC UA server becomes a data service. Whatever
cannot be carried (another northbound server, an unsupported protocol or cloud type, a script the
sandbox refuses) is listed in the report, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.core.errors import ScriptCompileError
from gateway.scripting.compiler import compile_script

_PROTOCOLS = {"iso-on-tcp": "s7", "snap7": "s7", "s7": "s7", "siemens s7": "s7", "s7-200smart": "s7",
              "s7-1200": "s7", "s7-1500": "s7", "s7-300": "s7", "s7-400": "s7",
              "modbus-tcp": "modbus-tcp", "modbus tcp": "modbus-tcp", "modbus-rtu": "modbus-rtu",
              "modbus rtu": "modbus-rtu", "opc-ua": "opcua", "opcua": "opcua", "opc ua": "opcua", "opc_ua": "opcua",
              "ethernet/ip": "ethernet-ip", "ethernet-ip": "ethernet-ip", "enip": "ethernet-ip",
              "ab ethernet/ip": "ethernet-ip", "ab-eip": "ethernet-ip", "logix": "ethernet-ip",
              "mc 3e": "mc-3e", "mc-3e": "mc-3e", "mc3e": "mc-3e", "mc 3e binary": "mc-3e",
              "mitsubishi mc 3e": "mc-3e", "melsec-q": "mc-3e", "mc protocol": "mc-3e"}
_CLOUDS = {"standard mqtt": "mqtt", "mqtt": "mqtt", "aws iot": "aws-iot", "aws-iot": "aws-iot"}
_UPLOAD = {"periodic": "periodic", "onchange": "onchange", "never": "never"}
_COMBINE = {"none": "none", "": "none", "and": "and", "&&": "and", "or": "or", "||": "or"}
_OPS = {"eq", "neq", "gt", "egt", "lt", "elt"}
_NORTHBOUND = ("modbusSlave", "modbusRTUSlave", "iec104Server", "iec101Server", "iec104Client", "opcuaServer")
_LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning", "error": "error"}


@dataclass
class Imported:
    """Our configuration as data, the scripts to write, and what could not be carried."""

    config: dict[str, Any]
    scripts: dict[str, str] = field(default_factory=dict)  # file name in scripts/ -> source
    report: list[str] = field(default_factory=list)


def import_cfg(export: dict[str, Any]) -> Imported:
    """Convert a parsed ``.cfg`` export."""
    misc = export.get("misc") or {}
    labels = {str(item["key"]): str(item["value"]) for item in export.get("labels") or [] if "key" in item}
    config: dict[str, Any] = {"gateway": {"name": "device-supervisor", "data_dir": "./state",
                                          "log_level": _LOG_LEVELS.get(str(misc.get("logLvl", "info")).lower(), "info"),
                                          "labels": labels}}
    result = Imported(config)
    report = result.report
    config["controllers"], serial_needed = _controllers(export.get("controllers") or [], report)
    if serial_needed:
        config["serial_ports"] = _serial_ports(misc.get("coms") or [], serial_needed, report)
    controllers = {c["name"] for c in config["controllers"]}
    history_groups: set[str] = set()
    config["measures"] = _measures(export.get("measures") or [], controllers, history_groups, report)
    config["groups"] = _groups(export.get("groups") or [], history_groups)
    config["alarms"] = _alarms(export.get("alarms") or [], report)
    config["clouds"] = _clouds(export.get("clouds") or [], report)
    config["cache"] = {"max_alarm_records": int(misc.get("maxAlarmRecordSz") or 2000)}
    if misc.get("cacheSize"):
        config["cache"]["max_messages"] = int(misc["cacheSize"])
    _functions(export.get("quickfaas") or {}, {c["name"] for c in config["clouds"]}, result)
    services = {}
    if (slave := _modbus_slave(export.get("modbusSlave") or {}, report)) is not None:
        services["modbus_server"] = slave
    if (opcua := _opcua_server(export.get("opcuaServer") or {}, report)) is not None:
        services["opcua_server"] = opcua
    if services:
        config["services"] = services
    for name in _NORTHBOUND:
        section = export.get(name) or {}
        if section.get("enable") and name not in ("modbusSlave", "opcuaServer"):
            report.append(f"{name}: the northbound server is enabled in Device Supervisor but is not part of this "
                          "gateway; not imported")
    if (export.get("bindConfig") or {}).get("enable"):
        report.append("bindConfig: the cloud model binding is not supported; not imported")
    return result


def _modbus_slave(section: dict[str, Any], report: list[str]) -> dict[str, Any] | None:
    """Device Supervisor's Modbus TCP slave page, when it is enabled: port, unit id, connection
    limit and byte order. Its mapping table rows are not carried (their format is not one we
    have seen filled in): the report says how many to lay out again."""
    if not section.get("enable"):
        return None
    orders = {str(section.get(key) or "abcd").lower() for key in ("int32Ord", "float32Ord")}
    byte_order = str(section.get("float32Ord") or "abcd").lower()
    slave: dict[str, Any] = {"port": int(section.get("port") or 502), "unit_id": int(section.get("slaveAddr") or 1),
                             "max_connections": int(section.get("maxConnection") or 5),
                             "byte_order": byte_order if byte_order in ("abcd", "badc", "cdab", "dcba") else "abcd"}
    if len(orders) > 1:
        report.append(f"modbusSlave: int32Ord and float32Ord differ ({', '.join(sorted(orders))}); every 32-bit "
                      f"value is served {slave['byte_order']} (a map entry may set its own byte_order)")
    if str(section.get("int16Ord") or "ab").lower() != "ab":
        report.append("modbusSlave: int16Ord 'ba' (bytes swapped in 16-bit values) is not supported; served 'ab'")
    if section.get("useRawvalue"):
        report.append("modbusSlave: Device Supervisor served raw values; this gateway serves each measure's "
                      "scaled value (a scaled measure as FLOAT)")
    tables = [table for table in section.get("mappingTable") or [] if isinstance(table, dict)]
    rows = sum(len(table.get("measures") or []) for table in tables)
    rows += len(section.get("mapping_table") or [])
    if rows:
        report.append(f"modbusSlave: {rows} mapping table row(s) not imported: lay them out again on the Services "
                      "page (or use layout: auto)")
    return slave


def _opcua_server(section: dict[str, Any], report: list[str]) -> dict[str, Any] | None:
    """Device Supervisor's OPC UA server page, when it is enabled: its port, and its security mode
    0 (None) as the unencrypted endpoint. It names no users, so clients are let in anonymously
    until users are given (the report says so); every measure is served, mapped or not."""
    if not section.get("enable"):
        return None
    server: dict[str, Any] = {"port": int(section.get("port") or 4840), "allow_anonymous": True}
    if str(section.get("securityMode", 0)) in ("0", "None", "none"):
        server["allow_unencrypted"] = True
    report.append("opcuaServer: imported letting clients in without a user, as Device Supervisor did; give it "
                  "users (Services page) and turn allow_anonymous off")
    if section.get("mapping_table"):
        report.append("opcuaServer: its mapping table is not needed: every measure is served under "
                      "Objects/<gateway>/<controller>")
    return server


def _controllers(items: list[dict[str, Any]], report: list[str]) -> tuple[list[dict[str, Any]], set[str]]:
    controllers, serial = [], set()
    for item in items:
        name = str(item.get("name", ""))
        protocol = _PROTOCOLS.get(str(item.get("protocol", "")).lower())
        if protocol is None:
            report.append(f"controller {name}: protocol '{item.get('protocol')}' is not supported; not imported "
                          "(nor its measures)")
            continue
        args = item.get("args") or {}
        controller: dict[str, Any] = {"name": name, "protocol": protocol, "endpoint": str(item.get("endpoint", "")),
                                      "sample_period": float(item.get("samplePeriod") or 1)}
        if args.get("connectTimeOut"):
            controller["timeout"] = float(args["connectTimeOut"]) / 1000
        ours: dict[str, Any] = {}
        if protocol == "s7":
            if str(args.get("mode", "Rack/Slot")).lower().startswith("rack"):
                ours = {"rack": int(args.get("rack", 0)), "slot": int(args.get("slot", 1))}
            else:
                ours = {"tsap_local": str(args.get("localTsap", args.get("tsapLocal", "02.00"))),
                        "tsap_remote": str(args.get("remoteTsap", args.get("tsapRemote", "02.01")))}
        elif protocol == "opcua":
            controller["endpoint"], ours = _opcua(controller["endpoint"], args, name, report)
        elif protocol == "mc-3e":
            series = str(args.get("plcType", args.get("series", "Q"))).upper()
            ours = {"series": "iQ-R" if series.endswith("R") else "L" if series.startswith("L") else "Q"}
        elif protocol == "ethernet-ip":
            if ":" not in controller["endpoint"]:
                controller["endpoint"] += ":44818"
            ours = {"slot": int(args.get("slot", args.get("cpuSlot", 0)))}
        elif "slave" in args or "unitId" in args:
            ours = {"unit_id": int(args.get("slave", args.get("unitId", 1)))}
        if protocol == "modbus-rtu":
            serial.add(controller["endpoint"])
        if ours:
            controller["args"] = ours
        controllers.append(controller)
    return controllers, serial


def _opcua(endpoint: str, args: dict[str, Any], name: str, report: list[str]) -> tuple[str, dict[str, Any]]:
    """An OPC UA controller's endpoint (``opc.tcp://`` added to a bare host:port) and args: its
    security mode and policy, and a user name; a certificate file cannot come across."""
    if not endpoint.startswith("opc.tcp://"):
        endpoint = f"opc.tcp://{endpoint}"
    ours: dict[str, Any] = {}
    mode = str(args.get("securityMode", args.get("security_mode", "None")))
    policy = str(args.get("securityPolicy", args.get("security_policy", "None")))
    user = args.get("username", args.get("userName", args.get("user")))
    if user:
        ours.update(auth="username", username=str(user), password=str(args.get("password", "")))
    if mode not in ("", "None", "none"):
        report.append(f"controller {name}: OPC UA security {mode}/{policy} needs our application certificate; "
                      "imported without security: add certificate and private_key, then security_mode "
                      f"{mode} with security_policy Basic256Sha256")
    return endpoint, ours


def _serial_ports(coms: list[dict[str, Any]], needed: set[str], report: list[str]) -> list[dict[str, Any]]:
    ports = []
    for com in coms:
        name = str(com.get("name", ""))
        if name not in needed:
            continue
        ports.append({"name": name, "device": f"/dev/{name}", "baud": int(com.get("baud", 9600)),
                      "bits": int(com.get("bits", 8)), "parity": str(com.get("parityChk", "n")).upper()[:1],
                      "stopbits": int(com.get("stopbits", 1))})
        report.append(f"serial port {name}: its device was set to /dev/{name}; change it to this gateway's device")
    return ports


def _measures(items: list[dict[str, Any]], controllers: set[str], history: set[str],
              report: list[str]) -> list[dict[str, Any]]:
    measures, skipped = [], 0
    for item in items:
        controller = str(item.get("ctrlName", ""))
        if controller not in controllers:
            skipped += 1
            continue
        name = str(item.get("name", ""))
        measure: dict[str, Any] = {"name": name, "controller": controller, "group": str(item.get("group", "default")),
                                   "address": str(item.get("addr", "")), "type": str(item.get("dataType", "")).upper()}
        if item.get("readWrite", "ro") == "rw":
            measure["access"] = "rw"
        for ours, theirs in (("unit", "unit"), ("desc", "desc")):
            if item.get(theirs):
                measure[ours] = str(item[theirs])
        if item.get("decimal") not in (None, ""):
            measure["decimal"] = int(item["decimal"])
        if item.get("len"):
            measure["length"] = int(item["len"])
        upload = _UPLOAD.get(str(item.get("uploadType", "periodic")).lower(), "periodic")
        if upload != "periodic":
            measure["upload"] = upload
        if item.get("deadZonePercent"):
            measure["deadband"] = float(item["deadZonePercent"])
        transform = _transform(item)
        if transform:
            measure["transform"] = transform
        elif int(item.get("transformType") or 0):
            report.append(f"measure {controller}/{name}: transform type {item['transformType']} is not supported; "
                          "imported without it")
        if int(item.get("reverseBit") or 0):
            report.append(f"measure {controller}/{name}: reverseBit is not supported; imported without it")
        if int(item.get("storageLwTSDB") or 0):
            history.add(measure["group"])
        measures.append(measure)
    if skipped:
        report.append(f"{skipped} measure(s) of controllers that were not imported were left out")
    return measures


def _transform(item: dict[str, Any]) -> dict[str, Any] | None:
    kind = int(item.get("transformType") or 0)
    number = _number
    if kind == 1 and all(k in item for k in ("maxValue", "minValue", "maxScaleValue", "minScaleValue")):
        return {"kind": "ratio", "min_value": number(item["minValue"]), "max_value": number(item["maxValue"]),
                "min_scale": number(item["minScaleValue"]), "max_scale": number(item["maxScaleValue"])}
    if kind == 2 and "gain" in item:
        return {"kind": "gain_offset", "gain": number(item["gain"]), "offset": number(item.get("offset", 0))}
    return None


def _groups(items: list[dict[str, Any]], history: set[str]) -> list[dict[str, Any]]:
    groups = []
    for item in items:
        group: dict[str, Any] = {"name": str(item.get("name", "")),
                                 "upload_interval": float(item.get("uploadInterval") or 10)}
        if group["name"] in history:
            group["history"] = True
            if item.get("LwTSDBSize"):
                group["history_max_points"] = max(100, int(item["LwTSDBSize"]))
        groups.append(group)
    return groups


def _alarms(items: list[dict[str, Any]], report: list[str]) -> list[dict[str, Any]]:
    alarms = []
    for item in items:
        name = str(item.get("name", ""))
        cond1 = _condition(item.get("cond1"))
        if cond1 is None:
            report.append(f"alarm {name}: its condition could not be read; not imported")
            continue
        alarm: dict[str, Any] = {"name": name, "measure": str(item.get("measureName", item.get("measure", ""))),
                                 "level": int(item.get("alarmLevel", item.get("level", 1))),
                                 "content": str(item.get("content", "")), "cond1": cond1,
                                 "label": str(item.get("alarmLable", item.get("label", "default")))}
        if item.get("ctrlName"):
            alarm["controller"] = str(item["ctrlName"])
        combine = _COMBINE.get(str(item.get("combineMethod", item.get("condOp", "none"))).lower(), "none")
        cond2 = _condition(item.get("cond2"))
        if combine != "none" and cond2 is not None:
            alarm["combine"], alarm["cond2"] = combine, cond2
        alarms.append(alarm)
    return alarms


def _condition(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or str(raw.get("op", "")).lower() not in _OPS:
        return None
    return {"op": str(raw["op"]).lower(), "value": _number(raw.get("value", 0))}


def _clouds(items: list[dict[str, Any]], report: list[str]) -> list[dict[str, Any]]:
    clouds = []
    for item in items:
        name = str(item.get("name", "default"))
        kind = _CLOUDS.get(str(item.get("type", "")).lower())
        if kind is None:
            report.append(f"cloud {name}: type '{item.get('type')}' is not supported; not imported")
            continue
        args = item.get("args") or {}
        cloud: dict[str, Any] = {"name": name, "type": kind, "host": str(args.get("host", ""))}
        for ours, theirs in (("port", "port"), ("keepalive", "keepalive")):
            if args.get(theirs):
                cloud[ours] = int(args[theirs])
        if args.get("clientId"):
            cloud["client_id"] = str(args["clientId"])
        if args.get("auth") and args.get("username"):
            cloud["username"] = str(args["username"])
            cloud["password"] = str(args.get("passwd", ""))
        if int(args.get("tls") or 0) and kind == "mqtt":
            cloud["tls"] = True
        cloud["clean_session"] = bool(int(args.get("cleanSession", 1)))
        if str(args.get("mqttVersion", "")).lower() in ("v5", "5", "v5.0"):
            cloud["mqtt_version"] = "5"
        if args.get("willTopic"):
            cloud["will"] = {"topic": str(args["willTopic"]), "payload": str(args.get("willPayload", "")),
                             "qos": int(args.get("willQos", 0)), "retain": bool(int(args.get("willRetain", 0)))}
        for theirs in ("cert", "key", "rootCA"):
            if args.get(theirs):
                report.append(f"cloud {name}: its {theirs} file ({args[theirs]}) is on the old gateway; upload it on "
                              "the Clouds page")
        if not int(item.get("enable", 1)):
            report.append(f"cloud {name}: disabled in Device Supervisor; imported enabled")
        clouds.append(cloud)
    return clouds


def _functions(quickfaas: dict[str, Any], clouds: set[str], result: Imported) -> None:
    config, report = result.config, result.report
    config["publish"], config["subscribe"], config["functions"] = [], [], []
    kinds = (("upload", "uploadFuncs"), ("download", "downloadFuncs"), ("function", "genericFuncs"))
    for kind, key in kinds:
        items = quickfaas.get(key) or []
        for index, item in enumerate(items, start=1):
            name = str(item.get("name") or f"{kind}{index}")
            file_name = f"{kind}_{index}.py"
            source = str(item.get("script", ""))
            result.scripts[file_name] = source
            function = str(item.get("funcName") or "main")
            try:
                compile_script(source, file_name)
            except ScriptCompileError as exc:
                report.append(f"{kind} function '{name}': not imported, the sandbox refuses its script "
                              f"(kept as scripts/{file_name}): {'; '.join(exc.problems)}")
                continue
            cloud = str(item.get("cloudName") or "default")
            if kind != "function" and cloud not in clouds:
                report.append(f"{kind} function '{name}': its cloud '{cloud}' was not imported; not imported")
                continue
            rule: dict[str, Any] = {"name": _unique(name, config), "function": function,
                                    "script": f"scripts/{file_name}"}
            if kind == "upload":
                rule.update(cloud=cloud, topic=str(item.get("topic") or ""), qos=int(item.get("qos", 1)))
                if str(item.get("trigger", "")).startswith("warning"):
                    rule.update(source="alarm", labels=list(item.get("alarms") or item.get("labels") or ["default"]))
                else:
                    rule["groups"] = [str(g) for g in item.get("groups") or []]
                config["publish"].append(rule)
            elif kind == "download":
                rule.update(cloud=cloud, topic=str(item.get("topic") or ""), qos=int(item.get("qos", 1)))
                config["subscribe"].append(rule)
            else:
                period = item.get("period") or item.get("cycle")
                rule.update(mode="periodic", period=float(period)) if period else rule.update(mode="startup")
                config["functions"].append(rule)


def _unique(name: str, config: dict[str, Any]) -> str:
    taken = {r["name"] for section in ("publish", "subscribe", "functions") for r in config.get(section, [])}
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _number(value: Any) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number

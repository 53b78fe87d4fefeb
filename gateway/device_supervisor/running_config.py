"""The running configuration in Device Supervisor's field names, for ``quickfaas.config.get()``.

The shape is the one Device Supervisor 2.x's manual shows (``controllers`` with ``samplePeriod``
and ``expired``, ``measures`` with ``ctrlName``, ``groups``, ``alarms``, ``alarmLables``,
``labels``, ``misc``, ``clouds`` with ``args``), so its examples find what they read. Nothing
secret is ever included: no password, key, certificate path or token.
"""

from __future__ import annotations

from typing import Any

from gateway.config import GatewayConfig
from gateway.config.identity import global_parameters

_PROTOCOLS = {"modbus-tcp": "Modbus-TCP", "modbus-rtu": "Modbus-RTU", "s7": "ISO-on-TCP", "opcua": "OPC-UA",
              "ethernet-ip": "EtherNet/IP", "mc-3e": "MC 3E"}
_CLOUDS = {"mqtt": "Standard MQTT", "aws-iot": "AWS IoT", "iotgo": "IoTgo", "sparkplug": "SparkPlugB MQTT"}


def running_config(model: GatewayConfig) -> dict[str, Any]:
    """Return the configuration as Device Supervisor names it."""
    return {
        "controllers": [{"name": c.name, "protocol": _PROTOCOLS.get(c.protocol, c.protocol), "endpoint": c.endpoint,
                         "args": c.public_args, "samplePeriod": c.sample_period, "expired": int(c.timeout * 1000)}
                        for c in model.controllers],
        "measures": [_measure(m) for m in model.measures],
        "groups": [{"name": g.name, "uploadInterval": g.upload_interval, "enableHistory": int(g.history)}
                   for g in model.groups],
        "alarmLables": sorted({a.label for a in model.alarms}),
        "alarms": [{"name": a.name, "ctrlName": a.controller or _owner(model, a.measure), "measureName": a.measure,
                    "alarmLevel": a.level, "content": a.content, "alarmLable": a.label,
                    "cond1": {"op": a.cond1.op, "value": a.cond1.value},
                    "condOp": a.combine, "cond2": {"op": a.cond2.op, "value": a.cond2.value} if a.cond2 else None}
                   for a in model.alarms],
        "labels": [{"key": key, "value": value} for key, value in global_parameters(model).items()
                   if key not in ("log_level", "catch_recording", "warning_recording")],
        "misc": {"coms": [{"name": p.name, "baud": p.baud, "bits": p.bits, "parityChk": p.parity.lower(),
                           "stopbits": p.stopbits} for p in model.serial_ports],
                 "logLvl": model.gateway.log_level.upper(), "maxAlarmRecordSz": model.cache.max_alarm_records},
        "clouds": [{"name": c.name, "type": _CLOUDS.get(c.type, c.type), "enable": 1,
                    "cacheSize": model.cache.max_messages,
                    "args": {"host": c.host, "port": c.port, "tls": int(c.tls), "keepalive": c.keepalive,
                             "cleanSession": int(c.clean_session), "mqttVersion": f"v{c.mqtt_version}"}}
                   for c in model.clouds],
    }


def _measure(m: Any) -> dict[str, Any]:
    measure = {"name": m.name, "ctrlName": m.controller, "group": m.group, "uploadType": m.upload,
               "dataType": str(getattr(m.type, "value", m.type)), "addr": m.address, "readWrite": m.access,
               "unit": m.unit, "desc": m.desc, "transformType": 0}
    transform = m.transform
    if transform is not None and getattr(transform, "kind", "") == "gain_offset":
        measure.update(transformType=2, gain=str(transform.gain), offset=str(transform.offset))
    return measure


def _owner(model: GatewayConfig, measure: str) -> str:
    return next((m.controller for m in model.measures if m.name == measure), "")

"""The running configuration in Device Supervisor's field names, for ``quickfaas.config.get()``.

Scripts written for Device Supervisor read controllers, measures (with ``ctrlName``), groups,
alarms, labels and clouds by its names. Nothing secret is ever included: no password, key,
certificate path or token.
"""

from __future__ import annotations

from typing import Any

from gateway.config import GatewayConfig


def running_config(model: GatewayConfig) -> dict[str, Any]:
    """Return the configuration as Device Supervisor names it."""
    return {
        "controllers": [{"name": c.name, "protocol": c.protocol, "endpoint": c.endpoint,
                         "samplePeriod": c.sample_period, "timeout": c.timeout} for c in model.controllers],
        "measures": [{"name": m.name, "ctrlName": m.controller, "group": m.group, "addr": m.address,
                      "dataType": str(getattr(m.type, "value", m.type)), "readWrite": m.access, "unit": m.unit,
                      "desc": m.desc, "uploadType": m.upload} for m in model.measures],
        "groups": [{"name": g.name, "uploadInterval": g.upload_interval, "enableHistory": int(g.history)}
                   for g in model.groups],
        "alarms": [{"name": a.name, "ctrlName": a.controller or _owner(model, a.measure), "measureName": a.measure,
                    "alarmLevel": a.level, "content": a.content, "alarmLable": a.label,
                    "cond1": {"op": a.cond1.op, "value": a.cond1.value},
                    "condOp": a.combine, "cond2": {"op": a.cond2.op, "value": a.cond2.value} if a.cond2 else None}
                   for a in model.alarms],
        "labels": [{"key": key, "value": value} for key, value in model.gateway.labels.items()],
        "clouds": [{"name": c.name, "type": c.type, "host": c.host, "port": c.port} for c in model.clouds],
    }


def _owner(model: GatewayConfig, measure: str) -> str:
    return next((m.controller for m in model.measures if m.name == measure), "")

"""The configuration as Device Supervisor scripts see it through ``wizard_api.get_tag_config``.

Field names follow Device Supervisor's own export (``ctrlName``, ``dataType``, ``addr``,
``readWrite``...), so scripts written against it find what they look for. Only the southbound
side is shown: clouds, credentials and scripts are not a script's business.
"""

from __future__ import annotations

from typing import Any

from gateway.config import GatewayConfig


def tag_config(model: GatewayConfig) -> dict[str, Any]:
    """Return ``{devices, groups, warning, vars}`` for ``model``."""
    return {
        "devices": [{"name": c.name, "protocol": c.protocol, "endpoint": c.endpoint, "samplePeriod": c.sample_period,
                     "timeout": c.timeout, "args": dict(c.args)} for c in model.controllers],
        "groups": [{"name": g.name, "uploadInterval": g.upload_interval, "history": g.history} for g in model.groups],
        "warning": [{"name": a.name, "ctrlName": a.controller, "measureName": a.measure, "level": a.level,
                     "content": a.content, "cond1": a.cond1.model_dump(), "combine": a.combine,
                     "cond2": a.cond2.model_dump() if a.cond2 else None, "alarmLable": a.label}
                    for a in model.alarms],
        "vars": [{"name": m.name, "ctrlName": m.controller, "group": m.group, "dataType": m.type.value,
                  "addr": m.address, "readWrite": m.access, "unit": m.unit, "desc": m.desc, "decimal": m.decimal,
                  "uploadType": m.upload, "deadband": m.deadband} for m in model.measures],
    }

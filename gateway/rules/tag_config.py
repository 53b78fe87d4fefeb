"""The configuration as Device Supervisor scripts see it through ``wizard_api.get_tag_config``.

Each item carries Device Supervisor 1.x's field names, which its manual's examples read
(``device_name``, ``ip``, ``slave``, ``group_name``, ``polling_interval``, ``var_name``,
``warn_name``, ``condition1``...), and the 2.x export's names (``ctrlName``, ``dataType``,
``addr``, ``readWrite``...), so scripts written against either find what they look for. Only the
southbound side is shown: clouds, credentials and scripts are not a script's business.
"""

from __future__ import annotations

from typing import Any

from gateway.config import Controller, GatewayConfig

_PROTOCOLS = {"modbus-tcp": "ModbusTCP", "modbus-rtu": "ModbusRTU", "s7": "ISO-on-TCP"}
_CONDITIONS = {"eq": "Eq", "neq": "Neq", "gt": "Gt", "egt": "Gne", "lt": "Lt", "elt": "Lne"}


def tag_config(model: GatewayConfig) -> dict[str, Any]:
    """Return ``{devices, groups, warning, vars}`` for ``model``."""
    controllers = {c.name: c for c in model.controllers}
    protocols = {c.name: _PROTOCOLS.get(c.protocol, c.protocol) for c in model.controllers}
    measures = {(m.controller, m.name): m for m in model.measures}
    periods: dict[str, float] = {}
    for m in model.measures:
        period = controllers[m.controller].sample_period if m.controller in controllers else 1.0
        periods[m.group] = min(periods.get(m.group, period), period)
    alarms = []
    for a in model.alarms:
        device = a.controller or next((m.controller for m in model.measures if m.name == a.measure), "")
        measure = measures.get((device, a.measure))
        alarms.append({
            "name": a.name, "ctrlName": device, "measureName": a.measure, "level": a.level, "content": a.content,
            "cond1": a.cond1.model_dump(), "combine": a.combine, "cond2": a.cond2.model_dump() if a.cond2 else None,
            "alarmLable": a.label,
            "warn_name": a.name, "group": a.label, "device": device, "var_name": a.measure,
            "alarm_content": a.content, "condition1": _CONDITIONS[a.cond1.op], "operand1": f"{a.cond1.value:g}",
            "combine_method": a.combine.capitalize(), "condition2": _CONDITIONS[a.cond2.op] if a.cond2 else "",
            "operand2": f"{a.cond2.value:g}" if a.cond2 else "", "address": measure.address if measure else "",
            "protocol": protocols.get(device, ""), "data_type": measure.type.value if measure else ""})
    labels = sorted({a.label for a in model.alarms})
    return {
        "devices": [_device(c, model, protocols[c.name]) for c in model.controllers],
        "groups": [{"name": g.name, "uploadInterval": g.upload_interval, "history": g.history,
                    "group_name": g.name, "polling_interval": periods.get(g.name, 1.0),
                    "upload_interval": g.upload_interval, "group_type": "collect"} for g in model.groups]
        + [{"group_name": label, "polling_interval": 1.0, "upload_interval": "", "group_type": "alarm"}
           for label in labels],
        "warning": alarms,
        "vars": [{"name": m.name, "ctrlName": m.controller, "group": m.group, "dataType": m.type.value,
                  "addr": m.address, "readWrite": m.access, "unit": m.unit, "desc": m.desc, "decimal": m.decimal,
                  "uploadType": m.upload, "deadband": m.deadband,
                  "device": m.controller, "protocol": protocols.get(m.controller, ""), "var_name": m.name,
                  "address": m.address, "data_type": m.type.value,
                  "read_write": "read/write" if m.access == "rw" else "read",
                  "mode": "onchange" if m.upload == "onchange" else "realtime", "float_repr": m.decimal,
                  "size": m.length or 1} for m in model.measures],
    }


def _device(controller: Controller, model: GatewayConfig, protocol: str) -> dict[str, Any]:
    """A controller in both namings; DS 1.x's connection fields by protocol."""
    args = controller.args
    device: dict[str, Any] = {"name": controller.name, "protocol": protocol, "endpoint": controller.endpoint,
                              "samplePeriod": controller.sample_period, "timeout": controller.timeout,
                              "args": controller.public_args, "device_name": controller.name}
    if controller.protocol in ("modbus-tcp", "modbus-rtu"):
        device.update(slave=args.get("unit_id", 1), byte_order=str(args.get("byte_order", "abcd")))
    if controller.protocol == "modbus-rtu":
        port = next((p for p in model.serial_ports if p.name == controller.endpoint), None)
        device.update(serial=controller.endpoint)
        if port is not None:
            device.update(baudrate=port.baud, bytesize=port.bits, parity=port.parity, stopbits=port.stopbits)
    elif ":" in controller.endpoint:
        host, _, port_text = controller.endpoint.rpartition(":")
        device.update(ip=host, port=int(port_text) if port_text.isdigit() else port_text)
    else:  # a driver whose endpoint is no address (the simulator's "local")
        device.update(ip=controller.endpoint)
    if controller.protocol == "s7":
        device.update(rack=args.get("rack", 0), slot=args.get("slot", 1))
    return device

"""The gateway's identity for topics and scripts: ``${SN}``, ``${MAC}``, ``${name}`` and labels."""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def serial_number() -> str:
    """Return a stable serial for this machine (the machine id; the host name as a fallback)."""
    try:
        machine_id = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine_id = ""
    return machine_id[:16].upper() if machine_id else socket.gethostname()


def mac_address() -> str:
    """Return the MAC of the first non-loopback interface, or an empty string."""
    for interface in sorted(Path("/sys/class/net").glob("*")):
        try:
            mac = (interface / "address").read_text().strip()
        except OSError:
            continue
        if interface.name != "lo" and mac and mac != "00:00:00:00:00:00":
            return mac.upper()
    return ""


def topic_variables(name: str, labels: Mapping[str, str]) -> dict[str, str]:
    """Return the variables a topic may use; labels may override SN and MAC."""
    return {"SN": serial_number(), "MAC": mac_address(), "name": name, **labels}


def render_topic(topic: str, variables: Mapping[str, str]) -> str:
    """Substitute ``${VAR}`` in ``topic`` (variables were checked when the config loaded)."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), topic)


def gateway_variables(model: GatewayConfig) -> dict[str, str]:
    """Return the topic variables of the configured gateway."""
    return topic_variables(model.gateway.name, model.gateway.labels)


def global_parameters(model: GatewayConfig) -> dict[str, Any]:
    """Return what ``wizard_api.get_global_parameter()`` gives scripts: Device Supervisor's keys and the labels."""
    return {"gateway_sn": serial_number(), "log_level": model.gateway.log_level,
            "catch_recording": model.cache.max_messages, "warning_recording": model.cache.max_alarm_records,
            **gateway_variables(model)}

"""How a measure appears in the OPC UA server's address space: its NodeId and its built-in type."""

from __future__ import annotations

from gateway.services.contract import ServedMeasure

from .codec import VARIANT_OF
from .server_settings import OpcUaServerSettings


def variant_of(measure: ServedMeasure) -> str:
    """Return the OPC UA built-in type a measure's values are served as (String for names)."""
    return VARIANT_OF.get(measure.type, "UInt16") if measure.type is not None else "String"


def node_text(settings: OpcUaServerSettings, measure: ServedMeasure) -> str:
    """Return the NodeId of a measure's variable, by namespace URI (stable whatever the index)."""
    return f"nsu={settings.namespace_uri};s={measure.controller}.{measure.name}"

"""Describe every registered protocol for the people who configure it: the web UI's controller
form and the API show these, so a new driver appears there without anyone editing a page."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from .registry import available_protocols, driver_for

log = logging.getLogger("gateway.southbound")


def protocol_catalogue() -> list[dict[str, Any]]:
    """Return each protocol's name, title, endpoint example, address forms and ``args`` fields.

    A third-party driver that cannot be imported is left out (and logged), not an error: the page
    still lists every protocol that works.
    """
    described = []
    for protocol in available_protocols():  # built-ins first, in their order (Modbus TCP leads)
        try:
            driver = driver_for(protocol)
        except (ImportError, AttributeError, TypeError) as exc:
            log.warning("protocol %s is registered but cannot be loaded: %s", protocol, exc)
            continue
        described.append({
            "protocol": protocol, "title": driver.title or protocol, "endpoint_example": driver.endpoint_example,
            "default_port": driver.default_port,
            "uses_serial_port": driver.uses_serial_port, "address_forms": list(driver.address_forms),
            "can_browse": driver.can_browse,
            "args": args_fields(driver.args_model),
        })
    return described


def args_fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Return the fields of an ``args`` model as form fields: name, type (integer, number,
    string, boolean or select with its options), default, limits and description."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    fields = []
    for name, prop in schema.get("properties", {}).items():
        shape = _resolved(prop, definitions)
        field: dict[str, Any] = {"name": name, "type": shape.get("type", "string"), "default": prop.get("default")}
        if "enum" in shape:
            field.update(type="select", options=list(shape["enum"]))
        for limit in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if limit in shape:
                field[limit] = shape[limit]
        if "description" in prop:  # the field's own, not its type's docstring
            field["description"] = prop["description"]
        fields.append(field)
    return fields


def _resolved(prop: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The property's own shape: an enum's definition for a ``$ref``, the non-null choice of an
    optional (``anyOf: [X, null]``)."""
    if "$ref" in prop:
        return dict(definitions.get(prop["$ref"].rsplit("/", 1)[-1], {}))
    choices = [c for c in prop.get("anyOf", []) if c.get("type") != "null"]
    if len(choices) == 1:
        return _resolved(choices[0], definitions)
    return prop

"""The data services from the UI: what each one is, its settings and where it serves each
measure; a service's settings are changed (and validated) as any configuration section is."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from gateway.config.references import served_measures
from gateway.services.registry import available_services, service_for
from gateway.southbound.catalogue import args_fields

from .api import Api, ApiError
from .context import backend_of
from .routes_config import save_section
from .secrets import hide_secrets, keep_secrets


def register(api: Api) -> None:
    """Add the service endpoints."""
    api.route("GET", "/services", "Every data service: title, settings fields, its settings (null when not "
              "configured) and where it serves each measure", "config")(services)
    api.route("PUT", "/config/services/{key}", "Configure one data service", "config",
              body=dict[str, Any])(configure)
    api.route("DELETE", "/config/services/{key}", "Remove one data service's settings (it stops)", "config")(remove)


async def services(request: web.Request, _body: None) -> list[dict[str, Any]]:
    model = backend_of(request).config.model
    measures = served_measures(model)
    described = []
    for key in available_services():
        service = service_for(key)
        raw = model.services.get(key)
        shown = hide_secrets({"services": {key: copy.deepcopy(raw)}})["services"][key] if raw is not None else None
        entry: dict[str, Any] = {"key": key, "title": service.title, "fields": args_fields(service.settings_model),
                                 "settings": shown, "served": []}
        if raw is not None:  # checked when the configuration loaded
            entry["served"] = service.describe(service.settings_model.model_validate(raw), measures)
        described.append(entry)
    return described


def _known(key: str) -> str:
    if key not in available_services():
        raise ApiError(404, f"no service '{key}' (available: {', '.join(available_services())})")
    return key


async def configure(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    key = _known(request.match_info["key"])
    keep_secrets({"services": {key: body}}, backend_of(request).config.model)

    def change(document: Any) -> None:
        sections = document.get("services")
        if sections is None:
            sections = document["services"] = {}
        sections[key] = body
    await save_section(request, change, "services")
    return hide_secrets({"services": {key: copy.deepcopy(body)}})["services"][key]  # type: ignore[no-any-return]


async def remove(request: web.Request, _body: None) -> dict[str, Any]:
    key = _known(request.match_info["key"])

    def change(document: Any) -> None:
        sections = document.get("services") or {}
        if key not in sections:
            raise ApiError(404, f"service '{key}' is not configured")
        del sections[key]
    await save_section(request, change, "services")
    return {"deleted": key}

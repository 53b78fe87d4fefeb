"""Configuration sections from the UI: list, add, change and delete items, and the gateway and
cache settings. Every change is validated exactly as ``gateway check`` does (schema, references,
scripts), saved atomically with comments kept, and then the gateway restarts on it; a change that
fails validation changes nothing and answers 422 with each problem's path.

Secrets are never returned: a cloud's password reads as ``"********"``, and sending that
placeholder back keeps the stored password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, SecretStr
from pydantic_core import to_jsonable_python

from gateway.config import GatewayConfig, LoadedConfig
from gateway.config import schema as models
from gateway.config.save import edit_config
from gateway.core.errors import ConfigError, GatewayError
from gateway.scripting.loading import check_scripts
from gateway.southbound.catalogue import protocol_catalogue

from .api import Api, ApiError, body_adapter
from .context import actor, backend_of
from .secrets import hide_secrets, keep_secrets

SECTIONS: dict[str, type[Any]] = {
    "serial_ports": models.SerialPort, "controllers": models.Controller, "measures": models.Measure,
    "groups": models.Group, "alarms": models.Alarm, "clouds": models.Cloud, "publish": models.PublishRule,
    "subscribe": models.SubscribeRule, "functions": models.CustomFunction,
}
SETTINGS: dict[str, type[BaseModel]] = {"gateway": models.GatewaySection, "cache": models.Cache}


def register(api: Api) -> None:
    """Add the configuration endpoints, one set per section so each has its own body schema."""
    api.route("GET", "/config", "The whole configuration (secrets hidden)", "config")(whole)
    api.route("GET", "/protocols", "Every protocol a controller may use: title, endpoint example, address forms "
              "and args fields", "config")(protocols)
    for section, model in SECTIONS.items():
        key = "/{controller}/{name}" if section == "measures" else "/{name}"
        api.route("GET", f"/config/{section}", f"List {section}", "config")(_list(section))
        api.route("POST", f"/config/{section}", f"Add to {section}", "config", body=model)(_add(section))
        api.route("PUT", f"/config/{section}{key}", f"Change one of {section}", "config", body=model)(
            _replace(section))
        api.route("DELETE", f"/config/{section}{key}", f"Delete one of {section}", "config")(_delete(section))
    for section in ("controllers", "clouds"):
        api.route("POST", f"/config/{section}/test", f"Connect once with one of {section} as the form holds it "
                  "(nothing is saved)", "config", body=SECTIONS[section])(_test_connection(section))
    for section, model in SETTINGS.items():
        api.route("GET", f"/config/{section}", f"The {section} settings", "config")(_list(section))
        api.route("PUT", f"/config/{section}", f"Change the {section} settings", "config", body=model)(
            _settings(section))


def shown(model: GatewayConfig) -> dict[str, Any]:
    """Return the configuration as JSON data with its secrets hidden."""
    data: dict[str, Any] = hide_secrets(model.model_dump(mode="json", exclude_none=True))
    return data


async def protocols(_request: web.Request, _body: None) -> list[dict[str, Any]]:
    return protocol_catalogue()


async def whole(request: web.Request, _body: None) -> dict[str, Any]:
    return shown(backend_of(request).config.model)


def _list(section: str) -> Callable[[web.Request, None], Any]:
    async def handler(request: web.Request, _body: None) -> Any:
        return shown(backend_of(request).config.model)[section]
    return handler


def _add(section: str) -> Callable[[web.Request, Any], Any]:
    async def handler(request: web.Request, body: Any) -> Any:
        item = _plain(body)
        keep_secrets({section: [item]}, backend_of(request).config.model)

        def change(document: Any) -> None:
            items = document.setdefault(section, [])
            if items is None:
                items = document[section] = []
            items.append(item)
        await save_section(request, change, section)
        return item
    return handler


def _test_connection(section: str) -> Callable[[web.Request, Any], Any]:
    async def handler(request: web.Request, body: Any) -> dict[str, Any]:
        backend = backend_of(request)
        item = _plain(body)
        keep_secrets({section: [item]}, backend.config.model)  # an edited item's hidden password is the saved one
        try:
            said = await backend.test_connection(SECTIONS[section].model_validate(item))
        except ConfigError:
            raise
        except GatewayError as exc:
            return {"connected": False, "said": str(exc)}
        return {"connected": True, "said": said}
    return handler


def _replace(section: str) -> Callable[[web.Request, Any], Any]:
    async def handler(request: web.Request, body: Any) -> Any:
        item = _plain(body)
        keep_secrets({section: [item]}, backend_of(request).config.model,
                     renamed={str(item.get("name")): request.match_info["name"]})

        def change(document: Any) -> None:
            items = document.get(section) or []
            items[_index(items, section, request.match_info)] = item
        await save_section(request, change, section)
        return item
    return handler


def _delete(section: str) -> Callable[[web.Request, None], Any]:
    async def handler(request: web.Request, _body: None) -> Any:
        def change(document: Any) -> None:
            items = document.get(section) or []
            del items[_index(items, section, request.match_info)]
        await save_section(request, change, section)
        return {"deleted": dict(request.match_info)}
    return handler


def _settings(section: str) -> Callable[[web.Request, Any], Any]:
    async def handler(request: web.Request, body: Any) -> Any:
        item = _plain(body)
        keep_secrets({section: item}, backend_of(request).config.model)

        def change(document: Any) -> None:
            document[section] = item
        await save_section(request, change, section, whole_items=False)
        return item
    return handler


def _index(items: Any, section: str, key: Any) -> int:
    for index, item in enumerate(items):
        if str(item.get("name")) == key["name"] and (section != "measures"
                                                     or str(item.get("controller")) == key["controller"]):
            return index
    shown_key = f"{key['controller']}/{key['name']}" if section == "measures" else key["name"]
    raise ApiError(404, f"no '{shown_key}' in {section}")


def _plain(body: Any) -> dict[str, Any]:
    """The item as YAML-ready data: the fields given (a dataclass body, a measure: those that differ
    from their defaults), secrets (at any depth) as their real values."""
    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(v) for v in value]
        return value
    given = (body.model_dump(exclude_unset=True) if isinstance(body, BaseModel)
             else body_adapter(type(body)).dump_python(body, exclude_defaults=True))
    data: dict[str, Any] = to_jsonable_python(reveal(given))
    return data


async def save_section(request: web.Request, change: Callable[[Any], None], section: str, *,
                       whole_items: bool = True) -> LoadedConfig:
    """Change, validate and save the configuration file's ``section``, then run the gateway on it."""
    backend = backend_of(request)
    _, loaded = await backend.change(lambda: edit_config(backend.config.path, change, check_scripts,
                                                         section=section, whole_items=whole_items),
                                     by=actor(request), how=f"saved {section}")
    return loaded

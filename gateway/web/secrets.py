"""Secrets never leave the gateway: cloud passwords, IoTgo device apikeys, controller passwords
(an OPC UA user's, in ``args.password``), the passwords of a data service's users
(``services.<key>.users[].password``) and the metrics token read as ``********``, and that
placeholder sent back (in a form, or in an exported config.yaml imported again) keeps the stored
value. One place knows where secrets live in a configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config import GatewayConfig
from gateway.config.clouds import HIDDEN_SECRET
from gateway.config.save import round_trip
from gateway.config.splice import locate, splice_section

from .api import ApiError

HIDDEN = HIDDEN_SECRET
MAX_WHOLE_ROUND_TRIP = 256 * 1024  # a file read whole by the comment-keeping parser: ~100 times this in memory


def hide_secrets(config: Any) -> Any:
    """Replace every secret of a configuration-shaped mapping (JSON data or a YAML document) by
    the placeholder, in place; return it."""
    for cloud in _clouds(config):
        if cloud.get("password") is not None:
            cloud["password"] = HIDDEN
        for device in _devices(cloud):
            if device.get("apikey") is not None:
                device["apikey"] = HIDDEN
    for _name, args in _controller_args(config):
        if args.get("password") is not None:
            args["password"] = HIDDEN
    for _key, user in _service_users(config):
        if user.get("password") is not None:
            user["password"] = HIDDEN
    web = _web(config)
    if web.get("metrics_token") is not None:
        web["metrics_token"] = HIDDEN
    return config


def keep_secrets(config: Any, current: GatewayConfig, renamed: Mapping[str, str] | None = None) -> Any:
    """Put the stored value back wherever ``config`` holds the placeholder, in place; a cloud is
    matched by name (``renamed`` maps a new name to the stored one). Raise ApiError (400) for a
    placeholder whose value is not known here."""
    stored = {c.name: c.password for c in current.clouds}
    for cloud in _clouds(config):
        if cloud.get("password") == HIDDEN:
            name = str(cloud.get("name"))
            secret = stored.get((renamed or {}).get(name, name))
            if secret is None:
                raise ApiError(400, f"cloud '{name}': enter its password (it is not known here)",
                               problems=[{"path": "password", "message": "enter the password"}])
            cloud["password"] = secret.get_secret_value()
        _keep_apikeys(cloud, current, renamed)
    _keep_controller_passwords(config, current, renamed)
    _keep_service_passwords(config, current)
    web = _web(config)
    if web.get("metrics_token") == HIDDEN:
        token = current.gateway.web.metrics_token
        if token is None:
            raise ApiError(400, "gateway.web.metrics_token: enter the token (it is not known here)")
        web["metrics_token"] = token.get_secret_value()
    return config


def restore_secrets(text: str, current: GatewayConfig) -> str:
    """Return config.yaml ``text`` with every placeholder replaced by the stored secret (see
    :func:`keep_secrets`). Only the sections that hold secrets go through the comment-keeping
    round trip, which costs kilobytes per line: the rest of an uploaded file is never built."""
    if HIDDEN not in text:
        return text
    for section in ("clouds", "controllers", "services", "gateway"):
        layout = locate(text, section)
        if layout is not None and layout.block is None:
            continue  # no such section, so no secret in it
        edited = None if layout is None else splice_section(
            text, section, lambda document: keep_secrets(document, current), round_trip, layout)
        if edited is None:
            if len(text) > MAX_WHOLE_ROUND_TRIP:
                raise ApiError(400, f"the file hides secrets ({HIDDEN}) in a layout that can only be restored by "
                               "reading the whole file, which is too large for that: write it in block style")
            return round_trip(text, lambda document: keep_secrets(document, current))
        text = edited
    return text


def _keep_apikeys(cloud: Any, current: GatewayConfig, renamed: Mapping[str, str] | None) -> None:
    """Put back the apikey of each IoTgo device of ``cloud`` sent as the placeholder (a device is
    matched by its deviceid within the cloud)."""
    name = str(cloud.get("name"))
    stored = next((c for c in current.clouds if c.name == (renamed or {}).get(name, name)), None)
    apikeys = {d.deviceid: d.apikey for d in stored.devices} if stored is not None else {}
    for device in _devices(cloud):
        if device.get("apikey") == HIDDEN:
            apikey = apikeys.get(str(device.get("deviceid")))
            if apikey is None:
                raise ApiError(400, f"cloud '{name}', device '{device.get('deviceid')}': enter its apikey (it is "
                               "not known here)", problems=[{"path": "apikey", "message": "enter the apikey"}])
            device["apikey"] = apikey


def _keep_controller_passwords(config: Any, current: GatewayConfig, renamed: Mapping[str, str] | None) -> None:
    """Put back a controller's stored ``args.password`` where the placeholder stands (a controller
    is matched by name)."""
    stored = {c.name: c.args.get("password") for c in current.controllers}
    for name, args in _controller_args(config):
        if args.get("password") != HIDDEN:
            continue
        secret = stored.get((renamed or {}).get(name, name))
        if secret is None:
            raise ApiError(400, f"controller '{name}': enter its password (it is not known here)",
                           problems=[{"path": "args.password", "message": "enter the password"}])
        args["password"] = secret


def _keep_service_passwords(config: Any, current: GatewayConfig) -> None:
    """Put back a data service user's stored password where the placeholder stands (a user is
    matched by service and user name)."""
    stored = {(key, str(user.get("username"))): user.get("password") for key, user in _service_users(
        {"services": current.services})}
    for key, user in _service_users(config):
        if user.get("password") != HIDDEN:
            continue
        secret = stored.get((key, str(user.get("username"))))
        if secret is None or secret == HIDDEN:
            raise ApiError(400, f"services.{key}: enter the password of user '{user.get('username')}' (it is not "
                           "known here)", problems=[{"path": "users", "message": "enter the password"}])
        user["password"] = secret


def _service_users(config: Any) -> list[tuple[str, Any]]:
    """Return each data service's key with each of its users (mappings with a password)."""
    services = config.get("services") if isinstance(config, Mapping) else None
    found = []
    for key, section in (services or {}).items() if isinstance(services, Mapping) else []:
        users = section.get("users") if isinstance(section, Mapping) else None
        if isinstance(users, list):
            found += [(str(key), user) for user in users if isinstance(user, Mapping)]
    return found


def _controller_args(config: Any) -> list[tuple[str, Any]]:
    """Return each controller's name and ``args`` mapping (those that have one)."""
    controllers = config.get("controllers") if isinstance(config, Mapping) else None
    found = [(str(c.get("name")), c.get("args")) for c in controllers or [] if isinstance(c, Mapping)]
    return [(name, args) for name, args in found if isinstance(args, Mapping)]


def _devices(cloud: Any) -> list[Any]:
    devices = cloud.get("devices")
    return [d for d in devices or [] if isinstance(d, Mapping)] if isinstance(devices, list) else []


def _clouds(config: Any) -> list[Any]:
    clouds = config.get("clouds") if isinstance(config, Mapping) else None
    return [c for c in clouds or [] if isinstance(c, Mapping)]


def _web(config: Any) -> Any:
    gateway = config.get("gateway") if isinstance(config, Mapping) else None
    web = gateway.get("web") if isinstance(gateway, Mapping) else None
    return web if isinstance(web, Mapping) else {}

"""The gateway log, configuration export/import, a cloud's certificate files and the admin UI's own."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.cloud.credentials import import_bundle, install_pem_files
from gateway.config import load_config
from gateway.config.changes import describe_change
from gateway.config.save import dump_document, load_document, replace_config
from gateway.core.audit import CONFIG
from gateway.core.errors import CloudError, GatewayError
from gateway.core.upload_shape import ShapeError, check_yaml
from gateway.device_supervisor.migrate import MAX_EXPORT_BYTES, clashing_scripts, parse_export, write_migration
from gateway.scripting.loading import check_scripts

from .api import Api, ApiError
from .context import TLS, actor, audit, backend_of
from .secrets import hide_secrets, restore_secrets
from .uploads import read_body, read_files

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_CONFIG_NODES = 600_000  # parser events: a measure is about 12, so some 50,000 measures
MAX_CONFIG_DEPTH = 32  # ours nests 5 deep
MAX_PEM_BYTES = 64 * 1024
MAX_BUNDLE_BYTES = 1024 * 1024


def register(api: Api) -> None:
    """Add the log, configuration file and certificate endpoints."""
    api.route("GET", "/logs", "The gateway log after a line id", "logs", query=(
        ("after", "integer", "the last id already shown"), ("level", "string", "DEBUG, INFO, WARNING or ERROR"),
        ("limit", "integer", "at most this many lines (500)")))(logs)
    api.route("GET", "/config/export.yaml", "config.yaml with passwords hidden", "settings")(export_config)
    api.route("POST", "/config/import", "Replace config.yaml (validated first; hidden passwords are kept)",
              "settings", raw_body="application/yaml")(import_config)
    api.route("POST", "/config/import-ds", "Replace the configuration with a Device Supervisor 2.x .cfg export",
              "settings", raw_body="multipart/form-data",
              query=(("preview", "boolean", "only say what would change (1); nothing is changed"),))(
        import_device_supervisor)
    api.route("POST", "/clouds/{name}/certificates", "Upload a cloud's certificate, key and CA (PEM)", "settings",
              raw_body="multipart/form-data")(upload_certificates)
    api.route("POST", "/clouds/{name}/bundle", "Upload a thing certificate bundle (zip) for a cloud", "settings",
              raw_body="multipart/form-data")(upload_bundle)
    api.route("GET", "/settings/web-certificate", "The admin UI's HTTPS certificate", "settings")(web_certificate)
    api.route("POST", "/settings/web-certificate", "Serve your own certificate (with its chain) and key, PEM",
              "settings", raw_body="multipart/form-data")(upload_web_certificate)


async def web_certificate(request: web.Request, _body: None) -> dict[str, Any]:
    tls = request.app.get(TLS)
    if tls is None:
        return {"tls": False}
    return {"tls": True, **(await asyncio.to_thread(tls.describe)).to_json()}


async def upload_web_certificate(request: web.Request, _body: None) -> dict[str, Any]:
    tls = request.app.get(TLS)
    if tls is None:
        raise ApiError(409, "the admin UI is served without TLS (gateway.web.tls: false)")
    uploaded = await read_files(request, ("cert", "key"), MAX_PEM_BYTES)
    try:
        served = await asyncio.to_thread(tls.install, bytes(uploaded.get("cert", ("", b""))[1]),
                                         bytes(uploaded.get("key", ("", b""))[1]))
    except GatewayError as exc:
        raise ApiError(400, f"not installed: {exc}") from exc
    audit(request, CONFIG, "installed a web UI certificate", f"SHA-256 {served.fingerprint}")
    return {"tls": True, **served.to_json()}


async def logs(request: web.Request, _body: None) -> list[dict[str, Any]]:
    query = request.query
    try:
        after, limit = int(query.get("after", "0")), int(query.get("limit", "500"))
    except ValueError as exc:
        raise ApiError(400, "after and limit must be whole numbers") from exc
    level = query.get("level") or None
    if level is not None and level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ApiError(400, "level must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return backend_of(request).log_tail.since(after, level, max(1, min(limit, 500)))


async def export_config(request: web.Request, _body: None) -> web.Response:
    backend = backend_of(request)
    document = hide_secrets(load_document(backend.config.path.read_text(encoding="utf-8")))
    return web.Response(text=dump_document(document), content_type="application/yaml",
                        headers={"Content-Disposition": 'attachment; filename="config.yaml"'})


async def import_config(request: web.Request, _body: None) -> dict[str, Any]:
    raw = await read_body(request, MAX_CONFIG_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"not a YAML file: {exc}") from exc
    del raw
    backend = backend_of(request)
    try:  # before anything is built from it: a small file can expand to millions of objects
        await asyncio.to_thread(check_yaml, text, MAX_CONFIG_NODES, MAX_CONFIG_DEPTH)
    except ShapeError as exc:
        raise ApiError(400, str(exc)) from exc
    text = await asyncio.to_thread(restore_secrets, text, backend.config.model)
    _, loaded = await backend.change(lambda: replace_config(backend.config.path, text, check_scripts),
                                     by=actor(request), how="replaced the configuration with an uploaded file")
    logging.getLogger("gateway.web").info("configuration replaced from an uploaded file")
    return {"imported": True, "controllers": len(loaded.model.controllers), "measures": len(loaded.model.measures)}


async def upload_certificates(request: web.Request, _body: None) -> dict[str, Any]:
    uploaded = await read_files(request, ("cert", "key", "root_ca"), MAX_PEM_BYTES)
    files = {name: bytes(data) for name, (_filename, data) in uploaded.items() if data}
    return await _install(request, lambda config: install_pem_files(
        config, request.match_info["name"], files.get("cert"), files.get("key"), files.get("root_ca")))


async def upload_bundle(request: web.Request, _body: None) -> dict[str, Any]:
    uploaded = await read_files(request, ("bundle", "thing"), MAX_BUNDLE_BYTES)
    if not uploaded.get("bundle", ("", b""))[1]:
        raise ApiError(400, "no 'bundle' file in the upload")
    thing = uploaded.get("thing", ("", b""))[1].decode("utf-8", errors="replace").strip() or None
    with tempfile.NamedTemporaryFile(suffix=".zip", dir=backend_of(request).data_dir) as staged:
        staged.write(uploaded["bundle"][1])
        staged.flush()
        return await _install(request, lambda config: import_bundle(Path(staged.name), config,
                                                                    request.match_info["name"], thing))


async def _install(request: web.Request, install: Callable[[Path], str]) -> dict[str, Any]:
    """Install credentials (``install`` edits the configuration file it is given), then run it."""
    backend = backend_of(request)
    try:
        message, _ = await backend.change(lambda: install(backend.config.path), by=actor(request),
                                          how=f"installed certificates of cloud {request.match_info['name']}")
    except CloudError as exc:
        raise ApiError(400, str(exc)) from exc
    return {"message": message}


async def import_device_supervisor(request: web.Request, _body: None) -> dict[str, Any]:
    uploaded = await read_files(request, ("file",), MAX_EXPORT_BYTES)
    if not uploaded.get("file", ("", b""))[1]:
        raise ApiError(400, "no 'file' in the upload")
    try:
        imported = await asyncio.to_thread(parse_export, uploaded.pop("file")[1])
    except GatewayError as exc:
        raise ApiError(400, str(exc)) from exc
    backend = backend_of(request)
    folder = backend.config.base_dir
    if clashes := clashing_scripts(imported, folder):
        raise ApiError(409, "the import would overwrite scripts that differ; rename or remove them first",
                       problems=clashes)
    with tempfile.TemporaryDirectory(dir=folder) as staging:  # checked before anything real changes
        trial = await asyncio.to_thread(write_migration, imported, Path(staging) / "config.yaml")
        if trial.problems:
            raise ApiError(422, "the imported configuration does not pass gateway check; nothing was changed",
                           problems=trial.problems, report=imported.report)
        if request.query.get("preview") in ("1", "true"):
            replacing = await asyncio.to_thread(load_config, trial.config_path)
            return {"preview": True, "changes": describe_change(backend.config.model, replacing.model),
                    "controllers": len(replacing.model.controllers), "measures": len(replacing.model.measures),
                    "scripts": len(trial.scripts), "report": trial.report}
    migration, loaded = await backend.change(lambda: write_migration(imported, backend.config.path, force=True),
                                             by=actor(request), how="imported a Device Supervisor export")
    return {"imported": True, "controllers": len(loaded.model.controllers), "measures": len(loaded.model.measures),
            "scripts": len(migration.scripts), "report": migration.report}

"""Scripts from the UI: the script files, check, test run against the current values, upload, and
each script's log.

A script file is addressed by a plain file name (letters, digits, ``_``, ``-``, ending in
``.py``) inside the configuration's ``scripts/`` folder: a user-given name is checked against that
pattern and never used as a path otherwise.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from gateway.config.identity import global_parameters
from gateway.config.load import LoadedConfig, load_config
from gateway.config.save import write_atomically
from gateway.core.alarm_message import alarm_message
from gateway.core.audit import SCRIPT
from gateway.core.errors import ConfigError, GatewayError, ScriptCompileError
from gateway.core.messages import CallContext
from gateway.rules.tag_config import tag_config
from gateway.rules.uploader import data_collect_now, recalled_values
from gateway.runtime.status import GatewayStatus, LiveData
from gateway.scripting.compiler import MAX_SOURCE_BYTES, compile_script, require_function
from gateway.scripting.loading import check_scripts, function_key, publish_key, subscribe_key
from gateway.scripting.tryout import Message, test_source

from .api import Api, ApiError
from .context import actor, backend_of, running
from .uploads import read_files

MAX_TEST_PAYLOAD = 256 * 1024
FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.py$")
SCRIPTS_FOLDER = "scripts"


class Source(BaseModel):
    """A script's source; ``function`` is also required to exist when given."""

    source: str = Field(max_length=MAX_SOURCE_BYTES)
    function: str | None = Field(default=None, max_length=128)


class TestRun(BaseModel):
    """Run ``function`` of ``source`` as the gateway would: a publish function on the current
    values of ``group`` (default: the first group), an alarm function on ``alarm`` raised now, or
    a download function on a message of ``topic`` carrying ``payload``."""

    source: str = Field(max_length=MAX_SOURCE_BYTES)
    function: str = Field(max_length=128)
    group: str | None = Field(default=None, max_length=128)
    alarm: str | None = Field(default=None, max_length=128)
    topic: str | None = Field(default=None, max_length=1024)
    payload: str = Field(default="", max_length=MAX_TEST_PAYLOAD)


def register(api: Api) -> None:
    """Add the script endpoints."""
    api.route("GET", "/scripts", "The configured scripts and their state", "scripts")(configured)
    api.route("GET", "/scripts/files", "The script files", "scripts")(files)
    api.route("GET", "/scripts/files/{file}", "One script file", "scripts")(read_file)
    api.route("PUT", "/scripts/files/{file}", "Save a script file (checked first)", "scripts", body=Source)(save_file)
    api.route("POST", "/scripts/upload", "Upload a .py file (checked first)", "scripts",
              raw_body="multipart/form-data")(upload)
    api.route("POST", "/scripts/check", "Compile under the sandbox policy; problems with lines", "scripts",
              body=Source)(check)
    api.route("POST", "/scripts/test", "Run a publish, alarm or download function as the gateway would; "
              "nothing is sent or written",
              "scripts", body=TestRun)(test_run)
    api.route("GET", "/scripts/{key}/log", "The last lines of a script's log", "scripts")(script_log)


async def configured(request: web.Request, _body: None) -> list[dict[str, Any]]:
    backend = backend_of(request)
    model = backend.config.model
    now = backend.status()
    entries = [("publish", publish_key(r.name), r.name, r.script, r.function) for r in model.publish]
    entries += [("subscribe", subscribe_key(r.name), r.name, r.script, r.function) for r in model.subscribe]
    entries += [("function", function_key(f.name), f.name, f.script, f.function) for f in model.functions]
    return [{"kind": kind, "key": key, "rule": rule, "script": script if script and "\n" not in script else "(inline)",
             "function": function,
             "faulted": _problem(now, key)}
            for kind, key, rule, script, function in entries if script]


def _problem(now: GatewayStatus | None, key: str) -> str | None:
    """Why the running gateway paused a script, or could not load it."""
    script = now.scripts.get(key) if now is not None else None
    return script.problem if script is not None else None


async def files(request: web.Request, _body: None) -> list[dict[str, Any]]:
    folder = _folder(request)
    if not folder.is_dir():
        return []
    return [{"name": p.name, "size": p.stat().st_size} for p in sorted(folder.iterdir())
            if p.is_file() and FILE_NAME.match(p.name)]


async def read_file(request: web.Request, _body: None) -> dict[str, Any]:
    path = _file(request, request.match_info["file"])
    try:
        return {"name": path.name, "source": path.read_text(encoding="utf-8")}
    except FileNotFoundError as exc:
        raise ApiError(404, f"no script file '{path.name}'") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"cannot read '{path.name}': {exc}") from exc


async def save_file(request: web.Request, body: Source) -> dict[str, Any]:
    return await _save(request, request.match_info["file"], body.source)


async def upload(request: web.Request, _body: None) -> dict[str, Any]:
    uploaded = await read_files(request, ("file",), MAX_SOURCE_BYTES)
    if "file" not in uploaded:
        raise ApiError(400, "no 'file' field in the upload")
    name, data = uploaded["file"]
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "the script is not UTF-8 text") from exc
    return await _save(request, name, source)


async def check(_request: web.Request, body: Source) -> dict[str, Any]:
    return {"problems": _problems(body.source, body.function)}


async def test_run(request: web.Request, body: TestRun) -> dict[str, Any]:
    if problems := _problems(body.source, body.function):
        raise ApiError(422, "the script does not compile", problems=problems)
    data = running(request)
    model = data.config.model
    values = recalled_values(model.measures, data.latest)
    sample: dict[str, Any] | Message
    if body.topic is not None:
        sample = Message(body.topic, body.payload)
    elif body.alarm is not None:
        sample = _alarm_raised_now(data, body.alarm)
    else:
        group = next((g for g in model.groups if g.name == body.group), None) if body.group else \
            (model.groups[0] if model.groups else None)
        if group is None:
            raise ApiError(400, f"no group '{body.group}'" if body.group else "the configuration has no group")
        sample = data_collect_now(group, [m for m in model.measures if m.group == group.name], data.latest)
    context = CallContext("test", "test", body.topic or "test/topic", 1, global_parameters(model))
    shown = {"topic": sample.topic, "payload": sample.payload} if isinstance(sample, Message) else sample
    output: list[str] = []  # what the script printed and logged: shown with the result, not logged
    try:
        lines = await test_source(body.source, "script.py", body.function, sample, context,
                                  {"values": values, "tag_config": tag_config(model)}, output)
    except GatewayError as exc:
        return {"error": str(exc), "lines": [], "output": output, "data": shown}
    return {"error": None, "lines": lines, "output": output, "data": shown}


def _alarm_raised_now(data: LiveData, name: str) -> dict[str, Any]:
    """The alarm dict of rule ``name`` raised now on its measure's current value."""
    model = data.config.model
    rule = next((a for a in model.alarms if a.name == name), None)
    if rule is None:
        raise ApiError(400, f"no alarm rule '{name}'")
    controller = rule.controller or next((m.controller for m in model.measures if m.name == rule.measure), "")
    value = data.latest.get(controller, rule.measure).value
    return alarm_message(name=rule.name, label=rule.label, level=rule.level, content=rule.content,
                         controller=controller, measure=rule.measure, active=True, value=value,
                         raised_value=value, now=time.time())


async def script_log(request: web.Request, _body: None) -> list[dict[str, Any]]:
    return backend_of(request).script_logs.tail(request.match_info["key"])


def _problems(source: str, function: str | None) -> list[str]:
    try:
        compiled = compile_script(source, "script.py")
        if function:
            require_function(compiled, function)
    except ScriptCompileError as exc:
        return exc.problems
    return []


async def _save(request: web.Request, name: str, source: str) -> dict[str, Any]:
    path = _file(request, name)
    if problems := _problems(source, None):
        raise ApiError(422, f"'{path.name}' was not saved: it does not compile", problems=problems)
    backend = backend_of(request)

    def save() -> LoadedConfig:
        """Write the file; a script the configuration uses must still define what its rules call."""
        previous = path.read_text(encoding="utf-8") if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, source, keep_backup=False)
        try:
            loaded = load_config(backend.config.path)
            check_scripts(loaded)
        except ConfigError as exc:
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                write_atomically(path, previous, keep_backup=False)
            raise ApiError(422, f"'{path.name}' was not saved", problems=[str(p) for p in exc.problems]) from exc
        return loaded

    await backend.change(save, by=actor(request), how=f"saved {path.name} ({source.count(chr(10)) + 1} lines)",
                         action=SCRIPT)
    return {"name": path.name, "saved": True}


def _folder(request: web.Request) -> Path:
    return backend_of(request).config.base_dir / SCRIPTS_FOLDER


def _file(request: web.Request, name: str) -> Path:
    if not FILE_NAME.match(name):
        raise ApiError(400, "a script file name has letters, digits, '_' or '-' and ends in .py (e.g. upload.py)")
    return _folder(request) / name


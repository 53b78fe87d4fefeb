"""The Device Supervisor 2.x modules scripts import: ``quickfaas.*`` and ``common.Logger``.

Signatures are those of InHand's DSA API document. Each call acts through the running call's
wizard_api (publishing, asynchronous writes) or asks the gateway (``ask``: values, statuses,
files, tables), which checks every request again: the worker runs user code and is not trusted.
Callbacks of the asynchronous calls other than ``write_plc_values`` run before the call returns,
with the answer the gateway gave.
"""

from __future__ import annotations

import base64
import types
from collections.abc import Callable
from typing import Any

from gateway.core.errors import ScriptRuntimeError
from gateway.core.write_forms import WRITE_TIMED_OUT, shaped_results, write_timeout, write_values

from .wizard_api import encode_payload

# asks the gateway one thing for the script that calls: what, arguments -> answer
Ask = Callable[[str, dict[str, Any]], dict[str, Any]]


def device_supervisor_modules(api: Callable[[], Any], ask: Ask, logger: Any) -> dict[str, types.SimpleNamespace]:
    """Return the modules by import name; ``api()`` is the wizard_api of the call running now."""

    def current() -> Any:
        """The running call's wizard_api; publishing and writing need one."""
        running = api()
        if running is None:
            raise ScriptRuntimeError("publishing and writing work while the gateway calls the script, not at "
                                     "its top level")
        return running

    def answer(what: str, **args: Any) -> dict[str, Any]:
        reply = ask(what, args)
        if reply.get("error"):
            raise ScriptRuntimeError(str(reply["error"]))
        return reply

    def call_back(callback: Any, message: Any, userdata: Any) -> None:
        if callback is not None:
            current().hand_back(callback, message, userdata)

    # quickfaas.remotebus and quickfaas.messagebus
    def publish(topic: str, payload: Any, qos: int = 1, wizard_data: Any = None, cloud_name: str = "default") -> bool:
        """Stored in the outbox, then sent; with ``wizard_data`` ``{"topic", "qos", "payload"}``
        it is sent at once if the cloud is connected, and ``wizard_data`` is stored otherwise."""
        if wizard_data is None:
            return bool(current().publish_to_cloud(cloud_name, topic, payload, qos))
        if not (isinstance(wizard_data, dict) and "payload" in wizard_data):
            raise ScriptRuntimeError('wizard_data is {"topic": ..., "qos": ..., "payload": ...}')
        return bool(current().publish_to_cloud(cloud_name, topic, payload, qos, stored_instead=(
            wizard_data.get("topic", topic), wizard_data["payload"], wizard_data.get("qos", qos))))

    def publish_local(topic: str, payload: Any, qos: int = 1) -> bool:
        data = base64.b64encode(encode_payload(payload)).decode()
        return bool(answer("local_bus", topic=topic, payload=data, qos=qos)["sent"])

    # quickfaas.measure
    def write(message: Any, timeout: float = 60, cloudName: str | None = None) -> list[dict[str, Any]]:
        values, by_controller = _write_form(message)
        results = answer("write", values=values, timeout=_seconds(timeout))["results"]
        if results == list(WRITE_TIMED_OUT):
            raise ScriptRuntimeError(f"the write did not end within {timeout:g} s")
        if by_controller:
            return shaped_results(results, "by_controller")
        unresolved = [r["error"] for r in results if not r.get("device")]  # {name: v} naming no single measure
        if unresolved:
            raise ScriptRuntimeError(f"write: {'; '.join(unresolved)}")
        return shaped_results(results, "ds2")

    def write_plc_values(message: Any, callback: Any = None, userdata: Any = None, timeout: float = 60,
                         cloudName: str | None = None) -> None:
        values, by_controller = _write_form(message)
        current().write_plc_values(values, callback, userdata, _seconds(timeout),
                               shape="by_controller" if by_controller else "ds2")

    def recall(names: Any = None, recall_type: str = "measure", timeout: float = 10,
               realTime: bool = False) -> list[dict[str, Any]]:
        return list(answer("recall", names=_names(names, recall_type), type=recall_type)["items"])

    def recall2(names: Any = None, recall_type: str = "measure", callback: Any = None, userdata: Any = None,
                timeout: float = 10, realTime: bool = False) -> None:
        checked = _names(names, recall_type)
        if recall_type == "group":
            answer("recall", names=checked, type="group")
            return
        call_back(callback, _chosen(ask("values", {}), checked), userdata)

    # quickfaas.global_dict, quickfaas.controller, quickfaas.clouds, quickfaas.config
    def global_parameters() -> dict[str, Any]:
        running = api()  # scripts also read them at their top level, when no call runs
        return dict(running.get_global_parameter() if running is not None else answer("parameters")["parameters"])

    def controller_status(controller: str | None = None) -> list[dict[str, Any]]:
        return [c for c in answer("controllers")["items"] if controller in (None, c["name"])]

    def controller_status_by_name(controller: str | None = None) -> dict[str, dict[str, Any]]:
        return {c["name"]: {"health": c["health"], "timestamp": c["timestamp"]} for c in controller_status(controller)}

    def cloud_status(cloud_name: str = "default") -> bool:
        return bool(answer("clouds", name=cloud_name)["connected"])

    def config_get(runningConfig: bool = True, timeout: float = 10) -> dict[str, Any]:
        return dict(answer("config")["config"])

    def config_set(config: Any, timeout: float = 10) -> str:
        """Device Supervisor answers "success" or "failed"; why it failed goes to the script's log."""
        reply = ask("config_set", {"config": config})
        if reply.get("error"):
            logger.warning("config.set failed: %s", reply["error"])
            return "failed"
        return str(reply.get("result", "failed"))

    # quickfaas.global_variables
    def variable_get(key: str | None = None) -> Any:
        variables = answer("variables")["variables"]
        return variables if key is None else variables.get(key)

    def variable_set(key: str, value: Any) -> None:
        answer("variables", key=key, value=value)

    # quickfaas.file
    def faas_read_file(filePath: str, mode: str = "r", encode: str = "utf-8", size: int = -1) -> Any:
        data = base64.b64decode(answer("file_read", path=filePath, mode=mode, size=size)["data"])
        if "b" in mode:
            return data
        try:
            return data.decode(encode)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ScriptRuntimeError(f"{filePath} cannot be read as {encode}: {exc}") from exc

    def faas_write_file(filePath: str, mode: str = "w", data: Any = "", encode: str = "utf-8") -> None:
        if isinstance(data, str):
            try:
                raw = data.encode(encode)
            except (LookupError, UnicodeEncodeError) as exc:
                raise ScriptRuntimeError(f"the data cannot be written as {encode}: {exc}") from exc
        elif isinstance(data, bytes | bytearray):
            raw = bytes(data)
        else:
            raise ScriptRuntimeError("faas_write_file writes a str or bytes")
        answer("file_write", path=filePath, mode=mode, data=base64.b64encode(raw).decode())

    # quickfaas.LWTSDB
    def insert_request(table_name: str, insert_data: Any, noack: int = 0, callback: Any = None, userdata: Any = None,
                       timeout: float = 30) -> None:
        reply = answer("table_insert", table=table_name, data=insert_data)
        if not noack:
            call_back(callback, reply["reply"], userdata)

    def query_request(table_name: str, start_time: Any = None, end_time: Any = None, filter: Any = None,
                      limit: int = 1000, offest: int = 0, callback: Any = None, userdata: Any = None,
                      timeout: float = 30) -> None:
        reply = answer("table_query", table=table_name, start=start_time, end=end_time, filter=filter,
                       limit=limit, offset=offest)
        call_back(callback, reply["reply"], userdata)

    def remove_request(table_name: str, start_time: Any = None, end_time: Any = None, noack: int = 0,
                       callback: Any = None, userdata: Any = None, timeout: float = 30) -> None:
        reply = answer("table_remove", table=table_name, start=start_time, end=end_time)
        if not noack:
            call_back(callback, reply["reply"], userdata)

    modules = {
        "remotebus": types.SimpleNamespace(publish=publish),
        "awsiot": types.SimpleNamespace(awsiot_publish=lambda topic, payload, qos=1: publish(topic, payload, qos)),
        "messagebus": types.SimpleNamespace(publish=publish_local),
        "measure": types.SimpleNamespace(write=write, write_plc_values=write_plc_values, recall=recall,
                                         recall2=recall2),
        "global_dict": types.SimpleNamespace(get=lambda: [{"key": k, "value": v} for k, v in
                                                          global_parameters().items()],
                                             get_global_parameter=global_parameters),
        "controller": types.SimpleNamespace(get_status=controller_status,
                                            get_controller_status=controller_status_by_name),
        "clouds": types.SimpleNamespace(get_status=cloud_status),
        "config": types.SimpleNamespace(get=config_get, set=config_set),
        "global_variables": types.SimpleNamespace(get=variable_get, set=variable_set),
        "file": types.SimpleNamespace(faas_read_file=faas_read_file, faas_write_file=faas_write_file),
        "LWTSDB": types.SimpleNamespace(insert_request=insert_request, query_request=query_request,
                                        remove_request=remove_request),
    }
    common_logger = types.SimpleNamespace(logger=logger)
    return {
        "quickfaas": types.SimpleNamespace(**modules),
        **{f"quickfaas.{name}": module for name, module in modules.items()},
        "common": types.SimpleNamespace(Logger=common_logger), "common.Logger": common_logger,
    }


def _write_form(message: Any) -> tuple[dict[str, Any], bool]:
    try:
        return write_values(message)
    except ValueError as exc:
        raise ScriptRuntimeError(str(exc)) from exc


def _seconds(timeout: Any) -> float:
    try:
        return write_timeout(timeout)
    except ValueError as exc:
        raise ScriptRuntimeError(str(exc)) from exc


def _chosen(data: dict[str, Any], names: list[dict[str, Any]]) -> dict[str, Any]:
    """Keep the named controllers' (and measures') values of recall_data's answer."""
    if not names:
        return data
    wanted = {n["name"]: set(n["measures"]) for n in names}
    values = {controller: {m: v for m, v in measures.items() if not wanted[controller] or m in wanted[controller]}
              for controller, measures in data.get("values", {}).items() if controller in wanted}
    return {**data, "values": values}


def _names(names: Any, recall_type: str) -> list[Any]:
    """Check recall's ``names``: groups by name, or ``[{"name": controller, "measures": [...]}]``."""
    if recall_type not in ("measure", "group"):
        raise ScriptRuntimeError(f"recall_type {recall_type!r}: use 'measure' or 'group'")
    items = list(names or [])
    if recall_type == "group" and all(isinstance(n, str) for n in items):
        return items
    if recall_type == "measure" and all(isinstance(n, dict) and isinstance(n.get("name"), str)
                                        and isinstance(n.get("measures", []), list) for n in items):
        return [{"name": n["name"], "measures": [str(m) for m in n.get("measures", [])]} for n in items]
    raise ScriptRuntimeError('recall names are ["group1"] (recall_type="group") or '
                             '[{"name": "PLC1", "measures": ["SP1"]}] (recall_type="measure")')

"""What a running gateway answers when a script asks (Device Supervisor 2.x's ``quickfaas``).

The script worker sends each request over its pipe (see :mod:`gateway.scripting.quickfaas`); the
answers come from the gateway's own parts: latest values, controller and cloud health, the PLC
writer, the scripts' files and tables, and the variables the scripts share. Every argument is
checked here again, since the worker runs user code. A refusal raises GatewayError, which the
script sees as an exception saying why.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from gateway.config.identity import global_parameters
from gateway.config.save import edit_config
from gateway.core.errors import GatewayError
from gateway.core.write_forms import WRITE_TIMED_OUT, write_timeout
from gateway.device_supervisor.config_changes import group_change, requested_change
from gateway.device_supervisor.running_config import running_config
from gateway.scripting.loading import check_scripts
from gateway.store.script_files import ScriptFiles
from gateway.store.script_tables import ScriptTables, table_time

if TYPE_CHECKING:
    from .app import Gateway

log = logging.getLogger("gateway.scripts")

Answer = Callable[[dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]
MAX_RECORDED_SAMPLES = 100_000  # of a group's history read by one query_request
MAX_VARIABLES = 1000
MAX_VARIABLE_BYTES = 64 * 1024
CALLS_SETTLE_SECONDS = 30.0  # a call's own limit, then its writes and their callbacks


class ScriptServices:
    """Answers the scripts' requests for one running gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._files = ScriptFiles(gateway.data_dir / "script_files")
        self._tables: ScriptTables | None = None  # opened on first use
        self._tables_lock = asyncio.Lock()
        self.variables: dict[str, Any] = {}  # quickfaas.global_variables, shared by every script
        self._tasks: set[asyncio.Task[None]] = set()  # group uploads and configuration changes scripts asked for

    def answers(self) -> dict[str, Answer]:
        """Return the answer to each request by name, for the script runner."""
        return {"recall": self._recall, "write": self._write, "controllers": self._controllers,
                "clouds": self._clouds, "config": lambda _args: {"config": running_config(self._model)},
                "variables": self._variables, "file_read": self._file_read, "file_write": self._file_write,
                "table_insert": self._table_insert, "table_query": self._table_query,
                "table_remove": self._table_remove, "local_bus": self._local_bus, "config_set": self._config_set,
                "parameters": lambda _args: {"parameters": global_parameters(self._model)}}

    async def close(self) -> None:
        """Close the tables; the uploads a recall started are cancelled (a configuration change is not:
        it stops this gateway itself)."""
        for task in self._tasks:
            if not task.get_name().startswith("script config"):
                task.cancel()
        if self._tables is not None:
            await self._tables.close()
            self._tables = None

    @property
    def _model(self) -> Any:
        return self._gateway.config.model

    def _recall(self, args: dict[str, Any]) -> dict[str, Any]:
        """``recall``: the latest values of the named measures by controller, or an upload of the
        named groups now (``type`` group)."""
        names = args.get("names") or []
        if args.get("type") == "group":
            self._upload_now([str(n) for n in names])
            return {"items": []}
        wanted = {str(n.get("name")): set(n.get("measures") or []) for n in names if isinstance(n, dict)}
        chosen = [m for m in self._model.measures if not wanted or (
            m.controller in wanted and (not wanted[m.controller] or m.name in wanted[m.controller]))]
        latest = self._gateway.latest
        health = {c["name"]: c for c in self._controller_list()}
        controllers: dict[str, dict[str, Any]] = {}
        for m in chosen:
            reading = latest.get(m.controller, m.name)
            entry = controllers.setdefault(m.controller, {**health.get(m.controller, {"name": m.controller,
                                                                                     "health": 0, "timestamp": 0}),
                                                          "measures": []})
            entry["measures"].append({"name": m.name, "health": reading.status, "timestamp": int(reading.timestamp),
                                      "value": reading.value})
        return {"items": list(controllers.values())}

    def _upload_now(self, groups: list[str]) -> None:
        """Upload the named groups through their publish rules as soon as the running call ends
        (the call holds the script worker, which the rules need)."""
        uploaders = self._gateway.uploaders
        unknown = [g for g in groups if g not in {group.name for group in self._model.groups}]
        if unknown:
            raise GatewayError(f"recall: no group {', '.join(unknown)}")
        for group in groups or list(uploaders):
            if group in uploaders:  # a group without measures or publish rule has nothing to upload
                self._start(uploaders[group].upload_now(), f"recall:{group}")

    async def _write(self, args: dict[str, Any]) -> dict[str, Any]:
        """``measure.write``: write now and answer the results (or the timeout tuple)."""
        writer = self._gateway.plc_writer
        values = args.get("values")
        if writer is None or not isinstance(values, dict):
            raise GatewayError("write: the gateway is not polling yet" if writer is None else "write: bad values")
        timeout = write_timeout(args.get("timeout", 60))
        try:
            return {"results": await asyncio.wait_for(writer.apply(values), timeout)}
        except TimeoutError:
            log.warning("a script's write did not end within %g s", timeout)
            return {"results": list(WRITE_TIMED_OUT)}

    def _controller_list(self) -> list[dict[str, Any]]:
        now = int(time.time())
        return [{"name": p.name, "health": 1 if p.health.healthy else 0,
                 "timestamp": int(p.health.last_success) or now} for p in self._gateway.pollers]

    def _controllers(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"items": self._controller_list()}

    def _clouds(self, args: dict[str, Any]) -> dict[str, Any]:
        """``clouds.get_status(name)``: whether it is connected; ``default`` means the only cloud
        when there is one and none of that name."""
        name = str(args.get("name", "default"))
        connectors = self._gateway.connectors
        if name == "default" and name not in connectors and len(connectors) == 1:
            name = next(iter(connectors))
        connector = connectors.get(name)
        if connector is None:
            raise GatewayError(f"clouds.get_status: no cloud '{name}' (clouds: {', '.join(connectors) or 'none'})")
        return {"connected": connector.state.connected}

    def _variables(self, args: dict[str, Any]) -> dict[str, Any]:
        if "key" in args:
            key = args["key"]
            if not isinstance(key, str) or not key:
                raise GatewayError("global_variables.set: the key is a non-empty string")
            if key not in self.variables and len(self.variables) >= MAX_VARIABLES:
                raise GatewayError(f"global_variables.set: at most {MAX_VARIABLES} variables")
            if len(repr(args.get("value"))) > MAX_VARIABLE_BYTES:
                raise GatewayError(f"global_variables.set: a value of at most {MAX_VARIABLE_BYTES} bytes")
            self.variables[key] = args.get("value")
            return {}
        return {"variables": self.variables}

    async def _file_read(self, args: dict[str, Any]) -> dict[str, Any]:
        data = await asyncio.to_thread(self._files.read, str(args.get("script")), str(args.get("path", "")),
                                       str(args.get("mode", "r")), _whole(args.get("size", -1)))
        return {"data": base64.b64encode(data).decode()}

    async def _file_write(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            data = base64.b64decode(str(args.get("data", "")), validate=True)
        except ValueError as exc:
            raise GatewayError("faas_write_file: the data did not arrive whole") from exc
        await asyncio.to_thread(self._files.write, str(args.get("script")), str(args.get("path", "")), data,
                                str(args.get("mode", "w")))
        return {}

    async def _table(self) -> ScriptTables:
        async with self._tables_lock:
            if self._tables is None:
                self._tables = await ScriptTables.open(self._gateway.data_dir / "history.db")
            return self._tables

    async def _table_insert(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"reply": await (await self._table()).insert(_table(args), args.get("data"))}

    async def _table_query(self, args: dict[str, Any]) -> dict[str, Any]:
        """``query_request``: a group's name with history reads that history too, as Device
        Supervisor's tables are its groups'."""
        table, start, end = _table(args), args.get("start"), args.get("end")
        tables = await self._table()
        return {"reply": await tables.query(table, start, end, args.get("filter"), _whole(args.get("limit", 1000)),
                                            _whole(args.get("offset", 0)), await self._recorded(table, start, end))}

    async def _recorded(self, table: str, start: Any, end: Any) -> dict[int, dict[str, Any]] | None:
        """The history of group ``table`` in the window as rows by second, or None when it keeps none."""
        history = self._gateway.history
        if history is None or not any(g.name == table and g.history for g in self._model.groups):
            return None
        low = table_time(start) if start is not None else None
        high = table_time(end) if end is not None else None
        rows: dict[int, dict[str, Any]] = {}
        for second, controller, measure, value in await history.group_samples(
                table, low, high, MAX_RECORDED_SAMPLES, newest_first=start is None and end is not None):
            rows.setdefault(second, {}).setdefault(controller, {})[measure] = [1, value]
        return rows

    async def _table_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"reply": await (await self._table()).remove(_table(args), args.get("start"), args.get("end"))}

    async def _config_set(self, args: dict[str, Any]) -> dict[str, Any]:
        """``config.set`` / ``update_group``: when ``gateway.scripts_change_config`` allows it, a
        change of group intervals or labels is validated now (a refusal says why) and saved and
        run after the call, as a change from the UI (rolled back if it cannot start)."""
        model = self._model
        current = running_config(model)
        wanted = group_change(current, args.get("group")) if "group" in args else args.get("config")
        if isinstance(wanted, dict) and all(current.get(key) == value for key, value in wanted.items()):
            return {"result": "success"}  # nothing changes: set(get()) is allowed everywhere
        if not model.gateway.scripts_change_config:
            raise GatewayError("scripts cannot change the gateway's configuration: change it on the web UI's "
                               "Configuration page or in config.yaml (or allow it with gateway: "
                               "{scripts_change_config: true})")
        change = requested_change(current, wanted, model.gateway.labels)
        if not change.intervals and change.labels is None:
            return {"result": "success"}
        config = self._gateway.config
        await asyncio.to_thread(edit_config, config.path, change.edit, check_scripts, dry_run=True)
        apply = self._gateway.change_config
        if apply is None:
            raise GatewayError("config.set: this gateway runs without a configuration file to change")
        log.info("a script changes the configuration: %s", ", ".join(
            [f"group {g} uploads every {s:g} s" for g, s in change.intervals.items()]
            + ([f"labels {change.labels}"] if change.labels is not None else [])))
        self._start(self._after_calls_settle(functools.partial(apply, change.edit)), "script config change")
        return {"result": "success"}

    async def _after_calls_settle(self, change: Callable[[], Awaitable[None]]) -> None:
        """Run ``change`` once the calls under way (the one that asked among them) have ended and
        committed what they published: the change restarts the gateway, which would cut them short."""
        try:
            async with asyncio.timeout(CALLS_SETTLE_SECONDS):
                await self._gateway.script_calls.settled()
        except TimeoutError:
            log.warning("script calls still run after %g s; the configuration change is made now", CALLS_SETTLE_SECONDS)
        await change()

    def _start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` once the running call lets go of the worker, keeping a reference to it."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _local_bus(self, args: dict[str, Any]) -> dict[str, Any]:
        """``messagebus.publish``: sent at once to the cloud marked ``local_bus`` (a broker on the
        gateway or the plant network), never stored, as Device Supervisor's local bus."""
        cloud = next((c.name for c in self._model.clouds if c.local_bus), None)
        if cloud is None:
            raise GatewayError("messagebus.publish: no local bus is configured (mark an MQTT cloud local_bus: true)")
        topic, qos = args.get("topic"), args.get("qos", 1)
        if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic or qos not in (0, 1, 2):
            raise GatewayError("messagebus.publish: a topic without wildcards and qos 0, 1 or 2")
        try:
            payload = base64.b64decode(str(args.get("payload", "")), validate=True)
        except ValueError as exc:
            raise GatewayError("messagebus.publish: the payload did not arrive whole") from exc
        connector = self._gateway.connectors.get(cloud)
        return {"sent": bool(connector is not None and connector.send_now(topic, payload, int(qos)))}


def _table(args: dict[str, Any]) -> str:
    table = args.get("table")
    if not isinstance(table, str):
        raise GatewayError("a table name is a string")
    return table


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GatewayError(f"{value!r} is not a whole number")
    return value

"""Run user scripts: the one call boundary between the gateway and user code.

Callers hand over plain data and get plain data back (:class:`CallOutcome`); a
``write_plc_values`` callback stays inside the runner and is referred to by id. So moving the
execution into a worker process (the sandbox issue) changes no caller. Today scripts run in
threads of the main process, with a wall-clock timeout after which the call counts as failed.
The threads are the runner's own, so a script that hangs can never take the threads the drivers
and connectors use.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ScriptError, ScriptRuntimeError

from .compiler import CompiledScript, compile_script, require_function
from .sandbox import script_globals
from .wizard_api import CallContext, OutgoingMessage, SendNow, WizardApi, WriteRequest


@dataclass
class CallOutcome:
    """What one script call produced; applied by the gateway only when ``error`` is None."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    writes: list[WriteRequest] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class _LoadedScript:
    name: str
    compiled: CompiledScript
    function: str
    namespace: dict[str, Any]
    logger: logging.Logger


class ScriptRunner:
    """Holds the compiled scripts of the configuration and runs their functions."""

    def __init__(self, send_now: SendNow, timeout: float = 10.0, threads: int = 4) -> None:
        self._send_now = send_now
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="script")
        self._scripts: dict[str, _LoadedScript] = {}
        self._callbacks: dict[int, tuple[str, Callable[..., Any]]] = {}
        self._callback_ids = itertools.count(1)

    def load(self, name: str, source: str, filename: str, function: str) -> None:
        """Compile a script for rule ``name`` and define its functions; raise ScriptError."""
        compiled = compile_script(source, filename)
        require_function(compiled, function)
        logger = logging.getLogger(f"gateway.script.{name}")
        namespace = script_globals(logger)
        try:
            exec(compiled.code, namespace)  # restricted code object, sandbox globals
        except Exception as exc:
            raise ScriptRuntimeError(f"running the script's top level failed: {_user_error(exc, filename)}") from exc
        self._scripts[name] = _LoadedScript(name, compiled, function, namespace, logger)

    async def call_publish(self, name: str, data_collect: dict[str, Any], context: CallContext) -> CallOutcome:
        """Call rule ``name``'s function with ``data_collect``; its return value is published too."""
        script = self._scripts[name]
        argument = copy.deepcopy(data_collect)  # a script must not change what other scripts see
        return await self._call(script, script.namespace[script.function], context,
                                lambda api: (argument, api), publish_return=True)

    async def call_subscribe(self, name: str, topic: str, payload: str, context: CallContext) -> CallOutcome:
        """Call a subscribe rule's ``main(topic, payload, wizard_api)`` (or ``main(topic, payload)``)."""
        script = self._scripts[name]
        function = script.namespace[script.function]
        takes_api = _positional_count(function) >= 3
        return await self._call(script, function, context,
                                lambda api: (topic, payload, api) if takes_api else (topic, payload))

    async def call_write_callback(self, callback_id: int, result: list[dict[str, Any]], tail: Any,
                                  context: CallContext) -> CallOutcome:
        """Run the callback a script gave to ``write_plc_values`` with the write results."""
        name, callback = self._callbacks.pop(callback_id)
        return await self._call(self._scripts[name], callback, context,
                                lambda api: (copy.deepcopy(result), tail, api))

    async def _call(self, script: _LoadedScript, function: Callable[..., Any], context: CallContext,
                    arguments: Callable[[WizardApi], tuple[Any, ...]], publish_return: bool = False) -> CallOutcome:
        api = WizardApi(context, self._send_now, script.logger, lambda cb: self._keep(script.name, cb))
        started = time.perf_counter()
        outcome = CallOutcome()
        try:
            call = functools.partial(function, *arguments(api))
            running = asyncio.get_running_loop().run_in_executor(self._executor, call)
            returned = await asyncio.wait_for(running, self._timeout)
            if publish_return and returned is not None:
                api.awsiot_publish(context.topic, returned, context.qos)
            outcome.messages, outcome.writes = api.outgoing, api.writes
        except TimeoutError:
            outcome.error = f"timed out after {self._timeout} s"
        except ScriptError as exc:
            outcome.error = str(exc)
        except Exception as exc:  # the user's code may raise anything
            outcome.error = _user_error(exc, script.compiled.filename)
        outcome.seconds = time.perf_counter() - started
        if outcome.error:
            for write in api.writes:  # nothing of a failed call is applied, so no callback will run
                if write.callback_id is not None:
                    self._callbacks.pop(write.callback_id, None)
            script.logger.error("%s() failed: %s", getattr(function, "__name__", "callback"), outcome.error)
        return outcome

    def _keep(self, script: str, callback: Callable[..., Any]) -> int:
        callback_id = next(self._callback_ids)
        self._callbacks[callback_id] = (script, callback)
        return callback_id


def _positional_count(function: Callable[..., Any]) -> int:
    code = getattr(function, "__code__", None)
    return int(code.co_argcount) if code is not None else 0


def _user_error(exc: BaseException, filename: str) -> str:
    """Describe an exception by the user's own lines, not the gateway's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f"line {frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"

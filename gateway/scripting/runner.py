"""Run user scripts: the one call boundary between the gateway and user code.

Callers hand over plain data and get plain data back (:class:`CallOutcome`), so moving the
execution into a worker process (the sandbox issue) changes no caller. Today scripts run in a
thread of the main process, with a wall-clock timeout after which the call counts as failed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ScriptError, ScriptRuntimeError

from .compiler import CompiledScript, compile_script, require_function
from .sandbox import script_globals
from .wizard_api import OutgoingMessage, PublishContext, SendNow, WizardApi


@dataclass
class CallOutcome:
    """What one script call produced."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class _LoadedScript:
    compiled: CompiledScript
    function: str
    namespace: dict[str, Any]
    logger: logging.Logger


class ScriptRunner:
    """Holds the compiled scripts of the configuration and runs their functions."""

    def __init__(self, send_now: SendNow, timeout: float = 10.0) -> None:
        self._send_now = send_now
        self._timeout = timeout
        self._scripts: dict[str, _LoadedScript] = {}

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
        self._scripts[name] = _LoadedScript(compiled, function, namespace, logger)

    async def call_publish(self, name: str, data_collect: dict[str, Any], context: PublishContext) -> CallOutcome:
        """Call rule ``name``'s function with ``data_collect``; its return value is published too."""
        script = self._scripts[name]
        api = WizardApi(context, self._send_now, script.logger)
        argument = copy.deepcopy(data_collect)  # a script must not change what other scripts see
        started = time.perf_counter()
        outcome = CallOutcome()
        try:
            returned = await asyncio.wait_for(
                asyncio.to_thread(script.namespace[script.function], argument, api), self._timeout
            )
            if returned is not None:
                api.awsiot_publish(context.topic, returned, context.qos)
            outcome.messages = api.outgoing
        except TimeoutError:
            outcome.error = f"timed out after {self._timeout} s"
        except ScriptError as exc:
            outcome.error = str(exc)
        except Exception as exc:  # the user's code may raise anything
            outcome.error = _user_error(exc, script.compiled.filename)
        outcome.seconds = time.perf_counter() - started
        if outcome.error:
            script.logger.error("%s() failed: %s", script.function, outcome.error)
        return outcome


def _user_error(exc: BaseException, filename: str) -> str:
    """Describe an exception by the user's own lines, not the gateway's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f"line {frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"

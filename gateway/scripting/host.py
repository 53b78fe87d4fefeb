"""Runs user scripts inside the worker process: loads them, calls them, keeps their callbacks.

Everything here runs in the worker, never in the gateway's main process. Each call gets a CPU
budget (a virtual-time timer raises inside the script), so a runaway computation ends the call
without killing the worker; the main process's wall-clock watchdog covers what a timer cannot
interrupt.
"""

from __future__ import annotations

import itertools
import logging
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from gateway.core.errors import ScriptError, ScriptRuntimeError
from gateway.core.messages import CallContext
from gateway.core.write_forms import WRITE_TIMED_OUT

from .budget import DEFAULT_STEPS, CpuBudgetExceeded, StepBudget, StepBudgetExceeded
from .compiler import CompiledScript, compile_script, require_function
from .conventions import entry_arguments
from .protocol import SCRIPT_LOGGER
from .sandbox import script_globals
from .wizard_api import Query, SendNow, WizardApi

CallResult = dict[str, Any]


@dataclass
class _Loaded:
    name: str
    compiled: CompiledScript
    function: str
    namespace: dict[str, Any]
    logger: logging.Logger


class ScriptHost:
    """The scripts of one gateway, their functions and the callbacks they handed over."""

    def __init__(self, send_now: SendNow, cpu_seconds: float, query: Query | None = None,
                 steps: int = DEFAULT_STEPS) -> None:
        self._send_now = send_now
        self._query = query
        self._active: WizardApi | None = None  # the wizard_api of the call running now
        self._cpu_seconds = cpu_seconds
        self._steps = StepBudget(steps)  # one call runs at a time, so the scripts share one budget
        self._scripts: dict[str, _Loaded] = {}
        self._callbacks: dict[int, tuple[str, Callable[..., Any]]] = {}
        self._ids = itertools.count(1)

    def load(self, name: str, source: str, filename: str, function: str) -> None:
        """Compile and define a script; raise ScriptError saying why it cannot run."""
        compiled = compile_script(source, filename)
        require_function(compiled, function)
        logger = logging.getLogger(f"{SCRIPT_LOGGER}.{name}")
        namespace = script_globals(logger, lambda: self._active, self._steps,
                                   lambda what, args: self._ask(what, args, filename))
        try:
            with self._budget():
                exec(compiled.code, namespace)  # restricted code object, sandbox globals
        except (Exception, StepBudgetExceeded, CpuBudgetExceeded) as exc:
            raise ScriptRuntimeError(f"running the script's top level failed: {self._describe(exc, filename)}") from exc
        self._scripts[name] = _Loaded(name, compiled, function, namespace, logger)

    def call(self, kind: str, name: str, arguments: list[Any], context: CallContext) -> CallResult:
        """Run one call: ``publish`` (data_collect), ``subscribe`` (topic, payload) or ``callback``."""
        if kind == "callback":
            callback_id = int(arguments[0])
            name, function = self._callbacks.pop(callback_id)
            script = self._scripts[name]
            arguments = arguments[1:3]
            if arguments[0] == list(WRITE_TIMED_OUT):  # a tuple, as Device Supervisor hands it over
                arguments[0] = WRITE_TIMED_OUT
        else:
            script = self._scripts[name]
            function = script.namespace[script.function]
        api = WizardApi(context, self._send_now, script.logger, lambda cb: self._keep(script.name, cb), self._query)
        args = entry_arguments(kind, function, arguments, api, context.cloud)
        script.namespace["__topic__"], script.namespace["__qos__"] = context.topic, context.qos
        self._active = api
        try:
            with self._budget():
                # the arguments were just decoded from JSON: no other script can see them
                returned = function(*args)
            if kind == "publish" and returned is not None:
                api.awsiot_publish(context.topic, returned, context.qos)
        except ScriptError as exc:
            return self._failed(script, api, str(exc))
        except (Exception, StepBudgetExceeded, CpuBudgetExceeded) as exc:  # noqa: BLE001 - user code raises anything
            return self._failed(script, api, self._describe(exc, script.compiled.filename))
        finally:
            self._active = None
        return {"messages": api.outgoing, "writes": api.writes, "error": None}

    def _failed(self, script: _Loaded, api: WizardApi, error: str) -> CallResult:
        for write in api.writes:  # nothing of a failed call is applied, so no callback will run
            if write.callback_id is not None:
                self._callbacks.pop(write.callback_id, None)
        script.logger.error("%s() failed: %s", script.function, error)
        return {"messages": [], "writes": [], "error": error}

    def _ask(self, what: str, args: dict[str, Any], filename: str) -> dict[str, Any]:
        """Ask the gateway for a script: the gateway keeps each script's files apart by its file name."""
        if self._query is None:
            return {"error": f"{what}: no gateway answers this script"}
        return self._query(what, {**args, "script": Path(filename).name})

    def _keep(self, script: str, callback: Callable[..., Any]) -> int:
        callback_id = next(self._ids)
        self._callbacks[callback_id] = (script, callback)
        return callback_id

    def _budget(self) -> _CpuBudget:
        self._steps.renew()
        return _CpuBudget(self._cpu_seconds)

    def _describe(self, exc: BaseException, filename: str) -> str:
        if isinstance(exc, StepBudgetExceeded):
            return user_error(exc, filename, f"ran more than {self._steps.steps:,} loop and function steps "
                                             "in one call (a runaway loop?)")
        if isinstance(exc, CpuBudgetExceeded):
            return user_error(exc, filename, f"used more than {self._cpu_seconds:g} s of CPU in one call")
        return user_error(exc, filename)


_REPEAT = 0.05


class _CpuBudget:
    """Raise CpuBudgetExceeded in the running code after ``seconds`` of CPU time, and again every
    ``_REPEAT`` seconds after: at the recursion limit the handler's own frame fails with a
    RecursionError, which the script may catch, so one signal alone could be lost."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __enter__(self) -> None:
        signal.signal(signal.SIGVTALRM, _over_budget)
        signal.setitimer(signal.ITIMER_VIRTUAL, self._seconds, _REPEAT)

    def __exit__(self, *_exc: object) -> None:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)


def _over_budget(_signum: int, _frame: FrameType | None) -> None:
    raise CpuBudgetExceeded


def user_error(exc: BaseException, filename: str, what: str | None = None) -> str:
    """Describe an exception (or ``what`` happened) by the user's own lines, not the gateway's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f"line {frames[-1].lineno}: " if frames else ""
    return f"{where}{what or f'{type(exc).__name__}: {exc}'}"

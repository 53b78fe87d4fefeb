"""Run user scripts in the worker process: the one call boundary between the gateway and user code.

Callers hand over plain data and get plain data back (:class:`CallOutcome`). Scripts are compiled
here first (so a refused script is reported with its lines before anything runs) and then loaded
into one worker process (``python -I``, capped memory, a CPU budget per call). A call that overruns
its wall-clock timeout, or a worker that dies, costs that call only: the worker is killed,
restarted with every script on the next call, and collection never waits for it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import itertools
import logging
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.core.errors import GatewayError
from gateway.core.group_snapshot import GroupSnapshot
from gateway.core.messages import CallContext, OutgoingMessage, WriteRequest
from gateway.core.publish_limits import message_problem

from .budget import DEFAULT_STEPS
from .compiler import compile_script, require_function
from .memory import address_space_capped, peak_resident_bytes
from .protocol import MAX_LINE_BYTES, SCRIPT_LOGGER, context_to_json, dump, load, messages_from_json, writes_from_json
from .wizard_api import QUERIES, SERVICES, SendNow

log = logging.getLogger("gateway.scripts")

QueryAnswer = Callable[[dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]

FAULT_AFTER = 5  # failed calls in a row before a script is paused
WORKER_START_SECONDS = 60.0  # for the worker to start and answer its first request, whatever the call timeout
RESUME_AFTER = 30.0  # a paused script is called again after this, doubling with each pause in a row
RESUME_AFTER_MAX = 900.0
MAX_MESSAGES_PER_CALL = 10_000
MAX_WRITES_PER_CALL = 1_000


@dataclass
class CallOutcome:
    """What one script call produced; applied by the gateway only when ``error`` is None."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    writes: list[WriteRequest] = field(default_factory=list)
    error: str | None = None
    worker_fault: bool = False  # the worker had to be stopped (timeout, memory, crash), not just the script raising


@dataclass(frozen=True)
class _Spec:
    source: str
    filename: str
    function: str


class ScriptRunner:
    """Holds the configuration's scripts and runs their functions in the worker."""

    def __init__(self, send_now: SendNow, *, timeout: float = 10.0, memory_mb: int = 256,
                 cpu_seconds: float | None = None, steps: int = DEFAULT_STEPS,
                 queries: Mapping[str, QueryAnswer] | None = None, said: ScriptSaid | None = None) -> None:
        """``queries`` answer the scripts' ``recall_data`` ("values"), ``get_tag_config``
        ("tag_config") and ``get_statistics`` ("statistics"), each given the call's arguments and
        possibly async; ``steps`` is the step budget of one call (see :mod:`.budget`). What the
        scripts print and log, and why a call failed, goes to ``said`` when given (a test run
        shows it to its user) instead of the gateway's log."""
        self._send_now = send_now
        self._said = said
        self._queries = dict(queries or {})
        self._steps = steps
        self._timeout = timeout
        self._memory_mb = memory_mb
        self._cpu_seconds = cpu_seconds if cpu_seconds is not None else timeout
        self._specs: dict[str, _Spec] = {}
        self._load_errors: dict[str, str] = {}
        self._unloadable: dict[str, str] = {}  # scripts whose top level overran: left out until changed
        self._request_ids = itertools.count(1)
        self._failures: dict[str, int] = {}
        self.faulted: dict[str, str] = {}  # script -> why it is paused (shown in status and log)
        self.resumes_at: dict[str, float] = {}  # a paused script -> when (time.time()) it is called again
        self._pauses: dict[str, int] = {}  # pauses in a row, for the resume backoff
        self.input_errors: Counter[str] = Counter()  # subscribe calls failed by what a message held
        self.calls: Counter[str] = Counter()  # per script, for /metrics: calls, failed calls, timeouts
        self.call_errors: Counter[str] = Counter()
        self.timeouts: Counter[str] = Counter()
        self._worker: asyncio.subprocess.Process | None = None
        self._stale = False
        self._lock = asyncio.Lock()
        self._check_peak_memory: bool | None = None  # decided once the first worker has set its limit
        self._rosters: set[str] = set()  # the group rosters the running worker holds (by key)

    @property
    def script_names(self) -> list[str]:
        """Return the names of the loaded scripts, in load order."""
        return list(self._specs)

    def load_error(self, name: str) -> str | None:
        """Return why the worker could not define script ``name`` (None when it could)."""
        return self._load_errors.get(name)

    def load(self, name: str, source: str, filename: str, function: str) -> None:
        """Compile a script for rule ``name`` under the sandbox policy; raise ScriptCompileError.

        The worker defines it when it (re)starts.
        """
        require_function(compile_script(source, filename), function)
        self._specs[name] = _Spec(source, filename, function)
        self._unloadable.pop(name, None)
        self._failures.pop(name, None)
        self._pauses.pop(name, None)
        self.resumes_at.pop(name, None)
        self.faulted.pop(name, None)  # a new version gets a new chance
        self._stale = True  # the running worker has the old version: restart it before the next call

    async def call_publish(self, name: str, data: GroupSnapshot | dict[str, Any], context: CallContext) -> CallOutcome:
        """Call rule ``name``'s function with ``data_collect`` (a group's snapshot, which crosses to
        the worker as columns, or a ready dict); its return value is published too."""
        if isinstance(data, GroupSnapshot):
            return await self._call("publish", name, [], context, data)
        return await self._call("publish", name, [data], context)

    async def call_subscribe(self, name: str, topic: str, payload: str, context: CallContext) -> CallOutcome:
        """Call a subscribe rule's ``main(topic, payload, wizard_api)`` (or ``main(topic, payload)``)."""
        return await self._call("subscribe", name, [topic, payload], context)

    async def call_function(self, name: str, context: CallContext, message: Any = None) -> CallOutcome:
        """Call a custom function: ``main()``, ``main(message)`` or ``main(wizard_api)``."""
        return await self._call("function", name, [message], context)

    async def call_write_callback(self, callback_id: int, result: list[Any], tail: Any,
                                  context: CallContext) -> CallOutcome:
        """Run the callback a script gave to ``write_plc_values`` with the write results (or
        ``["error", -110, "timeout"]``, which the script receives as a tuple)."""
        return await self._call("callback", "", [callback_id, result, tail], context)

    async def close(self) -> None:
        """Stop the worker."""
        async with self._lock:
            await self._kill()

    async def _call(self, kind: str, name: str, arguments: list[Any], context: CallContext,
                    snapshot: GroupSnapshot | None = None) -> CallOutcome:
        if name in self.faulted:
            if time.time() < self.resumes_at.get(name, 0.0):
                return CallOutcome(error=f"paused: {self.faulted[name]}")
            log.info("script %s: called again after its pause", name)  # its next failure pauses it again
            self.faulted.pop(name)
            self._failures[name] = FAULT_AFTER - 1
        outcome = await self._run(kind, name, arguments, context, snapshot)
        self.calls[name or "callback"] += 1
        if outcome.error is not None:
            self.call_errors[name or "callback"] += 1
        if kind == "callback":
            return outcome
        if outcome.error is None:
            self._failures.pop(name, None)
            self._pauses.pop(name, None)
        elif kind == "subscribe" and not outcome.worker_fault:
            self._input_failed(name)
        else:
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] >= FAULT_AFTER:
                self._pause(name, outcome.error)
        return outcome

    def _input_failed(self, name: str) -> None:
        """A subscribe script raised on a message: that message failed, the rule stays on for the
        next one (whoever can publish to its topic must not be able to switch it off)."""
        self.input_errors[name] += 1
        self._failures.pop(name, None)

    def _pause(self, name: str, error: str) -> None:
        pauses = self._pauses[name] = self._pauses.get(name, 0) + 1
        wait = min(RESUME_AFTER_MAX, RESUME_AFTER * 2 ** (pauses - 1))
        self.resumes_at[name] = time.time() + wait
        self.faulted[name] = f"failed {FAULT_AFTER} times in a row, paused for {wait:g} s; last: {error}"
        log.error("script %s is paused (faulted): %s", name, self.faulted[name])
        logging.getLogger(f"{SCRIPT_LOGGER}.{name}").error("paused (faulted): %s", self.faulted[name])

    async def _run(self, kind: str, name: str, arguments: list[Any], context: CallContext,
                   snapshot: GroupSnapshot | None) -> CallOutcome:
        async with self._lock:
            try:
                await self._ensure_worker()
            except (OSError, ValueError) as exc:  # TimeoutError and ConnectionError are OSErrors
                return CallOutcome(error=f"the script worker cannot start: {exc!r}")
            if name in self._load_errors:
                return CallOutcome(error=f"the script could not be loaded: {self._load_errors[name]}")
            request = {"op": "call", "kind": kind, "name": name, "arguments": arguments,
                       "context": context_to_json(context)}
            if snapshot is not None:
                request["snapshot"] = snapshot.columns_json()
                if snapshot.roster.key not in self._rosters:  # the worker keeps it from now on
                    request["roster"] = snapshot.roster.to_json()
                    self._rosters.add(snapshot.roster.key)
            try:
                answer = await asyncio.wait_for(self._exchange(request), self._timeout)
            except TimeoutError:
                self.timeouts[name or "callback"] += 1
                await self._kill()
                return self._failed(name, f"timed out after {self._timeout:g} s", worker_fault=True)
            except (ConnectionError, ValueError) as exc:
                await self._kill()
                return self._failed(name, f"the script worker stopped ({exc}); it is restarted for the next call",
                                    worker_fault=True)
            if overrun := self._memory_overrun():
                await self._kill()
                return self._failed(name, overrun, worker_fault=True)
        if answer.get("error"):
            return CallOutcome(error=str(answer["error"]))
        try:
            return _checked(name, context, messages_from_json(answer.get("messages", [])),
                            writes_from_json(answer.get("writes", [])))
        except (KeyError, TypeError, ValueError) as exc:  # a worker answering nonsense is not trusted
            return self._failed(name, f"the script worker's answer was refused: {exc}")

    def _memory_overrun(self) -> str | None:
        """Say why the call that just ended fails when the worker went over its memory limit on a
        system that does not enforce RLIMIT_AS (see :mod:`.memory`); None otherwise."""
        worker = self._worker
        if worker is None:
            return None
        if self._check_peak_memory is None:
            self._check_peak_memory = not address_space_capped(worker.pid)
            if self._check_peak_memory:
                log.warning("this system does not enforce the script worker's address-space limit (qemu-user "
                            "does not): the worker's peak memory is checked after each call instead")
        if self._check_peak_memory and peak_resident_bytes(worker.pid) > self._memory_mb * 2**20:
            return f"used more than {self._memory_mb} MiB of memory; the script worker is restarted"
        return None

    def _failed(self, name: str, error: str, worker_fault: bool = False) -> CallOutcome:
        self._tell(name or "callback", logging.ERROR, f"call failed: {error}")
        return CallOutcome(error=error, worker_fault=worker_fault)

    def _load_failed(self, name: str, why: str) -> None:
        if self._said is not None:
            self._said(logging.ERROR, f"could not be loaded: {why}")
        else:
            log.error("script %s could not be loaded: %s", name, why)

    def _tell(self, script: str, level: int, text: str) -> None:
        """A script's log line, or a line about a call of it: to ``said``, or to its logger."""
        if self._said is not None:
            self._said(level, text)
        else:
            _script_logger(script).log(level, "%s", text)

    async def _ensure_worker(self) -> None:
        """Start the worker with every script, unless it runs; a worker that fails to start (or to
        load a script) is killed, never left half-started for the next call to talk to."""
        if self._stale:
            await self._kill()
            self._stale = False
        if self._worker is not None and self._worker.returncode is None:
            return
        try:
            while (slow := await self._start_worker()) is not None:
                self._unloadable[slow] = (f"its top level ran longer than {self._timeout:g} s; it is not loaded "
                                          "again until it is changed")
                self._load_failed(slow, self._unloadable[slow])
                await self._kill()  # the worker is still busy with it: start one without it
        except BaseException:
            await self._kill()
            raise

    async def _start_worker(self) -> str | None:
        """Start a worker and load the scripts; return the name of one whose load overran, if any."""
        self._rosters.clear()
        self._worker = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-m", "gateway.scripting.worker", "--memory-mb", str(self._memory_mb),
            "--cpu-seconds", str(self._cpu_seconds), "--steps", str(self._steps),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=MAX_LINE_BYTES,
        )
        self._load_errors = dict(self._unloadable)
        # Starting the interpreter and importing the sandbox takes a quarter second here and
        # seconds on a busy ARM gateway: that is not the first script's time to load.
        await asyncio.wait_for(self._exchange({"op": "ping"}), WORKER_START_SECONDS)
        for name, spec in self._specs.items():
            if name in self._unloadable:
                continue
            try:
                answer = await asyncio.wait_for(self._exchange(
                    {"op": "load", "name": name, "source": spec.source, "filename": spec.filename,
                     "function": spec.function}), self._timeout)
            except TimeoutError:
                return name
            if answer.get("error"):
                self._load_errors[name] = str(answer["error"])
                self._load_failed(name, str(answer["error"]))
        return None

    async def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send a request and serve the worker's log and send_now lines until its answer comes.

        Requests are numbered and the worker answers with the number: an answer to another
        request (one that came after its caller gave up) raises ValueError rather than being
        taken for this one's."""
        worker = self._worker
        assert worker is not None and worker.stdin is not None and worker.stdout is not None
        request_id = request["id"] = next(self._request_ids)
        worker.stdin.write(dump(request))
        await worker.stdin.drain()
        while True:
            line = await worker.stdout.readline()
            if not line:
                raise ConnectionError(f"exit code {await worker.wait()}")
            message = load(line)
            if message.get("op") == "log":
                self._tell(str(message.get("logger")), int(message["level"]), str(message["text"]))
            elif message.get("op") == "query":
                worker.stdin.write(dump({"data": await self._answer_query(message.get("what"), message.get("args"))}))
                await worker.stdin.drain()
            elif message.get("op") == "send_now":
                sent = self._send_now(str(message["cloud"]), str(message["topic"]),
                                      base64.b64decode(message["payload"]), int(message["qos"]))
                worker.stdin.write(dump({"sent": sent}))
                await worker.stdin.drain()
            elif message.get("id") != request_id:
                raise ValueError(f"the worker answered request {message.get('id')!r} when {request_id} was asked")
            else:
                return message

    async def _answer_query(self, what: Any, args: Any) -> dict[str, Any]:
        """Answer what a script asks of the gateway; a refusal is ``{"error": why}``, which the
        script sees raised."""
        answer = self._queries.get(what) if what in QUERIES or what in SERVICES else None
        if answer is None:
            return {} if what in QUERIES else {"error": f"{what!s:.40}: not available in this run"}
        try:
            result = answer(args if isinstance(args, dict) else {})
            return await result if inspect.isawaitable(result) else result
        except GatewayError as exc:
            return {"error": str(exc)}
        except (ValueError, TypeError, KeyError, OSError, sqlite3.Error) as exc:  # a request the worker garbled
            log.warning("a script's %s request was refused: %r", what, exc)
            return {"error": f"{what!s:.40}: the request could not be read"}

    async def _kill(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None and worker.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                worker.kill()
            await worker.wait()


ScriptSaid = Callable[[int, str], None]  # (logging level, text) of a script's print or log line


def _script_logger(name: Any) -> logging.Logger:
    """The logger a worker's log line goes to: always a script's, whatever name the worker claims."""
    name = str(name)
    return logging.getLogger(name if name.startswith(SCRIPT_LOGGER + ".") else f"{SCRIPT_LOGGER}.{name}")


def _checked(name: str, context: CallContext, messages: list[OutgoingMessage],
             writes: list[WriteRequest]) -> CallOutcome:
    """Check again what the worker says a script produced: the worker runs user code, so its
    answers are not trusted further than the rules a script itself must meet."""
    if len(messages) > MAX_MESSAGES_PER_CALL or len(writes) > MAX_WRITES_PER_CALL:
        raise ValueError(f"more than {MAX_MESSAGES_PER_CALL} messages or {MAX_WRITES_PER_CALL} writes in one call")
    for message in messages:
        if message.cloud != context.cloud:
            raise ValueError(f"a message for cloud '{message.cloud}' from a rule of cloud '{context.cloud}'")
        if problem := message_problem(context.limits, message.topic, len(message.payload), message.qos):
            raise ValueError(problem)
    return CallOutcome(messages, writes)

"""The script worker: a separate ``python -I`` process that runs every user script.

    python -I -m gateway.scripting.worker --memory-mb 256 --cpu-seconds 5

It reads one JSON request per line on stdin and answers on stdout (see :mod:`.protocol`); a
script's log lines and its ``mqtt_publish`` calls go to the gateway as lines too. Its address
space is capped (RLIMIT_AS), each call has a CPU budget, it dies with the gateway, and it has no
file descriptors but its pipes. The gateway kills and restarts it when a call overruns its
wall-clock timeout. It ignores SIGINT and SIGTERM, which reach it when they are sent to the
gateway's process group: the gateway stops it after its own stop.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import gc
import logging
import resource
import signal
import sys
from typing import Any, BinaryIO

from gateway.core.errors import ScriptCompileError, ScriptError
from gateway.core.group_snapshot import GroupSnapshot, Roster

from .budget import DEFAULT_STEPS
from .host import ScriptHost
from .protocol import MAX_LINE_BYTES, context_from_json, dump, load, messages_to_json, writes_to_json

_PR_SET_PDEATHSIG = 1


class _Pipe:
    """The worker's end of the conversation with the gateway."""

    def __init__(self, incoming: BinaryIO, outgoing: BinaryIO) -> None:
        self._in, self._out = incoming, outgoing

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(dump(message))
        self._out.flush()

    def receive(self) -> dict[str, Any] | None:
        line = self._in.readline(MAX_LINE_BYTES + 1)
        return load(line) if line else None


class _ForwardLogs(logging.Handler):
    """Send the scripts' log records to the gateway, which logs them under the script's name."""

    def __init__(self, pipe: _Pipe) -> None:
        super().__init__(logging.DEBUG)
        self._pipe = pipe

    def emit(self, record: logging.LogRecord) -> None:
        self._pipe.send({"op": "log", "logger": record.name, "level": record.levelno,
                         "text": record.getMessage()[:10_000]})


def main() -> None:
    """Serve requests until the gateway closes the pipe."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=256)
    parser.add_argument("--cpu-seconds", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    options = parser.parse_args()
    _limit_resources(options.memory_mb)
    _ignore_the_group_signals()
    pipe = _Pipe(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout = sys.stderr  # nothing but the protocol may reach the pipe
    root = logging.getLogger()
    root.handlers[:] = [_ForwardLogs(pipe)]
    root.setLevel(logging.DEBUG)

    def send_now(cloud: str, topic: str, payload: bytes, qos: int) -> bool:
        pipe.send({"op": "send_now", "cloud": cloud, "topic": topic, "qos": qos,
                   "payload": base64.b64encode(payload).decode()})
        answer = pipe.receive()
        return bool(answer and answer.get("sent"))

    def query(what: str, args: dict[str, Any]) -> dict[str, Any]:
        pipe.send({"op": "query", "what": what, "args": args})
        answer = pipe.receive()
        return dict(answer.get("data", {})) if answer else {}

    host = ScriptHost(send_now, options.cpu_seconds, query, options.steps)
    rosters: dict[str, Roster] = {}  # the groups' rosters by key, sent once by the gateway
    while (request := pipe.receive()) is not None:
        # A call builds data_collect and the script's output, hundreds of thousands of objects
        # that live until it ends: the cyclic collector, run while they grow, would scan them again
        # and again (a third of a large call). It runs between calls instead; the memory cap still
        # bounds what one call can hold.
        gc.disable()
        try:
            answer = _answer(host, request, rosters)
        finally:
            gc.enable()
        answer["id"] = request.get("id")  # the gateway takes no answer for another request's
        pipe.send(answer)


def _answer(host: ScriptHost, request: dict[str, Any], rosters: dict[str, Roster]) -> dict[str, Any]:
    try:
        if request["op"] == "ping":  # the gateway's first request: the worker is up and listening
            return {"op": "result", "error": None}
        if request["op"] == "load":
            host.load(request["name"], request["source"], request["filename"], request["function"])
            return {"op": "result", "error": None}
        context = context_from_json(request["context"])
        arguments = request["arguments"]
        if "snapshot" in request:  # a group's columns: data_collect is built here, for this call only
            if "roster" in request:
                roster = Roster.from_json(request["roster"])
                rosters[roster.key] = roster
            columns = request["snapshot"]
            arguments = [GroupSnapshot.from_columns_json(columns, rosters[columns["roster"]]).data_collect()]
        result = host.call(request["kind"], request["name"], arguments, context)
        return {"op": "result", "error": result["error"], "messages": messages_to_json(result["messages"]),
                "writes": writes_to_json(result["writes"])}
    except ScriptCompileError as exc:
        return {"op": "result", "error": str(exc), "problems": exc.problems}
    except ScriptError as exc:
        return {"op": "result", "error": str(exc)}
    except MemoryError:
        return {"op": "result", "error": "the script ran out of memory"}
    except (KeyError, ValueError, TypeError) as exc:
        return {"op": "result", "error": f"bad request: {exc!r}"}


def _ignore_the_group_signals() -> None:
    """Ctrl-C in a terminal and systemd's stop signal the whole process group: the worker must not
    die under the call in flight (its upload lost, a traceback printed) before the gateway has
    stopped. It ends when the gateway closes its pipe or kills it, or when the gateway dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _limit_resources(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):  # Linux: die with the gateway, even mid-script
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


if __name__ == "__main__":
    main()

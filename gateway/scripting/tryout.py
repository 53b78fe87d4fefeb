"""``gateway script check`` and ``gateway script test``: try a script the way the gateway runs it.

``check`` compiles under the sandbox policy and lists every problem with its line. ``test`` runs
the function in the worker on sample data (a group's or an alarm's data_collect, or a download
function's topic and payload) and shows what it would publish and write; nothing is sent and no
PLC is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.core.errors import GatewayError, ScriptCompileError
from gateway.core.messages import CallContext

from .compiler import compile_script, require_function
from .runner import QueryAnswer, ScriptRunner


@dataclass(frozen=True)
class Message:
    """A cloud message for a download function: ``main(topic, payload[, wizard_api])``."""

    topic: str
    payload: str


def check_script(path: Path, function: str | None) -> list[str]:
    """Return the problems of the script at ``path`` (empty when it can run)."""
    try:
        compiled = compile_script(path.read_text(encoding="utf-8"), str(path))
        if function:
            require_function(compiled, function)
    except ScriptCompileError as exc:
        return exc.problems
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read: {exc}"]
    return []


async def test_script(path: Path, function: str, data: dict[str, Any] | Message, context: CallContext | None = None,
                      queries: Mapping[str, dict[str, Any]] | None = None) -> list[str]:
    """Run ``function`` of the script at ``path`` on ``data`` in the sandbox (see :func:`test_source`)."""
    source = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return await test_source(source, str(path), function, data, context, queries)


async def test_source(source: str, filename: str, function: str, data: dict[str, Any] | Message,
                      context: CallContext | None = None,
                      queries: Mapping[str, dict[str, Any]] | None = None,
                      output: list[str] | None = None) -> list[str]:
    """Run ``function`` in the sandbox; return what it would do, one line each.

    ``data`` is a publish entry's ``data_collect`` (a group's, or an alarm dict), or the
    :class:`Message` a download (subscribe) entry receives. ``context`` is the rule's (default: a
    test topic and no parameters); ``queries`` answer ``recall_data`` ("values") and
    ``get_tag_config`` ("tag_config"). Given ``output``, what the script prints and logs (and why
    it failed) is put there, ``LEVEL text`` a line, instead of into the gateway's log: a test run
    is its user's, and its failures are no fault of the running gateway."""
    report: list[str] = []

    def would_send_now(_cloud: str, send_topic: str, payload: bytes, qos: int) -> bool:
        report.append(f"mqtt_publish (sent at once, not stored) -> {send_topic} qos {qos}: {_show(payload)}")
        return True

    context = context or CallContext("test", "cloud", "test/topic", 1)
    fixed = {**(queries or {}), "parameters": {"parameters": dict(context.global_parameters)}}  # read at top level
    answers: dict[str, QueryAnswer] = {what: _answering(answer) for what, answer in fixed.items()}
    said = None if output is None else (lambda level, text: output.append(f"{logging.getLevelName(level)} {text}"))
    runner = ScriptRunner(would_send_now, queries=answers, said=said)
    try:
        runner.load("test", source, filename, function)
        if isinstance(data, Message):
            outcome = await runner.call_subscribe("test", data.topic, data.payload, context)
        else:
            outcome = await runner.call_publish("test", data, context)
    finally:
        await runner.close()
    if outcome.error:
        raise GatewayError(f"{function}() failed: {outcome.error}")
    report += [f"publish (stored, then sent) -> {m.topic} qos {m.qos}: {_show(m.payload)}" for m in outcome.messages]
    report += [f"write_plc_values: {json.dumps(w.values)}" for w in outcome.writes]
    return report or ["nothing published or written"]


def _answering(answer: dict[str, Any]) -> QueryAnswer:
    """A query answer that is always ``answer``."""
    return lambda _args: answer


def _show(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), ensure_ascii=False)
    except ValueError:
        return payload.decode("utf-8", errors="replace")

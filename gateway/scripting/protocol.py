"""What crosses the pipe between the gateway and its script worker: JSON lines, never pickle.

Every line is one JSON object with an ``op``. Payload bytes travel base64-encoded. Both sides cap
the size of a line.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Any, cast

from gateway.core.messages import CallContext, OutgoingMessage, WriteRequest
from gateway.core.publish_limits import PublishLimits
from gateway.core.write_forms import RESULT_SHAPES, ResultShape, write_timeout

MAX_LINE_BYTES = 16 * 1024 * 1024
SCRIPT_LOGGER = "gateway.script"  # a script's log lines go to gateway.script.<its name>, on both sides


def dump(message: dict[str, Any]) -> bytes:
    """Encode one message as a line."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def load(line: bytes) -> dict[str, Any]:
    """Decode one line; raise ValueError for anything but a JSON object within the size cap."""
    if len(line) > MAX_LINE_BYTES:
        raise ValueError(f"a line of {len(line)} bytes is over the {MAX_LINE_BYTES} byte cap")
    try:
        message = json.loads(line)
    except RecursionError as exc:
        raise ValueError("a line nested too deep") from exc
    if not isinstance(message, dict):
        raise ValueError("a line must hold a JSON object")
    return message


def context_to_json(context: CallContext) -> dict[str, Any]:
    return {"rule": context.rule, "cloud": context.cloud, "topic": context.topic, "qos": context.qos,
            "global_parameters": dict(context.global_parameters), "limits": asdict(context.limits)}


def context_from_json(data: dict[str, Any]) -> CallContext:
    limits = dict(data["limits"])
    limits["reserved_prefixes"] = tuple(limits["reserved_prefixes"])
    return CallContext(data["rule"], data["cloud"], data["topic"], int(data["qos"]), data["global_parameters"],
                       PublishLimits(**limits))


def messages_to_json(messages: list[OutgoingMessage]) -> list[dict[str, Any]]:
    return [{"cloud": m.cloud, "topic": m.topic, "qos": m.qos, "payload": base64.b64encode(m.payload).decode()}
            for m in messages]


def messages_from_json(data: list[dict[str, Any]]) -> list[OutgoingMessage]:
    return [OutgoingMessage(str(m["cloud"]), str(m["topic"]), base64.b64decode(m["payload"]), int(m["qos"]))
            for m in data]


def writes_to_json(writes: list[WriteRequest]) -> list[dict[str, Any]]:
    return [{"values": w.values, "callback_id": w.callback_id, "tail": w.tail, "shape": w.shape,
             "timeout": w.timeout} for w in writes]


def writes_from_json(data: list[dict[str, Any]]) -> list[WriteRequest]:
    return [WriteRequest(dict(w["values"]), w["callback_id"], w["tail"], _shape(w.get("shape", "ds1")),
                         write_timeout(w.get("timeout", 60.0))) for w in data]


def _shape(value: Any) -> ResultShape:
    if value not in RESULT_SHAPES:
        raise ValueError(f"a write result shape {value!r}")
    return cast(ResultShape, value)

"""``wizard_api`` for Device Supervisor 1.x scripts.

Everything a script asks for is recorded as plain data (:class:`OutgoingMessage`) and applied by
the gateway after the call returns, so the same object can later live in a worker process as a
proxy without changing any caller. ``mqtt_publish`` is the one immediate call (DS1 semantics:
sent now if connected, never cached), and it goes through the ``send_now`` hook.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from gateway.core.errors import ScriptRuntimeError
from gateway.core.messages import CallContext, OutgoingMessage, WriteRequest
from gateway.core.publish_limits import message_problem
from gateway.core.write_forms import ResultShape, write_timeout

from .conventions import positional_count

SendNow = Callable[[str, str, bytes, int], bool]
# asks the gateway for 'values' (recall_data), 'tag_config' or 'statistics', with arguments
Query = Callable[[str, dict[str, Any]], dict[str, Any]]
QUERIES = ("values", "tag_config", "statistics")  # wizard_api's own; the gateway answers .quickfaas' too
SERVICES = ("recall", "write", "controllers", "clouds", "config", "variables", "file_read", "file_write",
            "table_insert", "table_query", "table_remove", "local_bus", "config_set", "parameters")
MESSAGES_PER_CALL = 10_000  # a flood of publishes in one call stops here (the gateway checks it again)


def encode_payload(payload: Any) -> bytes:
    """Encode a payload: str as UTF-8, bytes as they are, anything else as JSON."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    try:
        return json.dumps(payload).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ScriptRuntimeError(f"payload cannot be sent as JSON: {exc}") from exc


class WizardApi:
    """The DS1 API surface a publish script receives."""

    def __init__(self, context: CallContext, send_now: SendNow, logger: logging.Logger,
                 keep_callback: Callable[[Callable[..., Any]], int], query: Query | None = None) -> None:
        self._context = context
        self._send_now = send_now
        self._query = query or (lambda _what, _args: {})
        self._logger = logger
        self._keep_callback = keep_callback
        self.outgoing: list[OutgoingMessage] = []
        self.writes: list[WriteRequest] = []
        self._over_cap = False

    def awsiot_publish(self, topic: str, payload: Any, qos: int = 1) -> bool:
        """Queue a message durably for the rule's cloud; True once accepted, False (and a log
        line saying why) when the cloud would refuse it or the call published too much already."""
        message = self._message(topic, payload, qos)
        if message is None:
            return False
        if len(self.outgoing) >= MESSAGES_PER_CALL:
            if not self._over_cap:  # said once: a loop publishing on would flood the script's log
                self._over_cap = True
                self._logger.warning("not published: more than %d messages in one call; the call's later "
                                     "publishes are refused too", MESSAGES_PER_CALL)
            return False
        self.outgoing.append(message)
        return True

    def mqtt_publish(self, topic: str, payload: Any, qos: int = 0) -> bool:
        """Send now if the cloud is connected; never cached. Return whether it was sent."""
        message = self._message(topic, payload, qos)
        if message is None:
            return False
        return self._send_now(message.cloud, message.topic, message.payload, message.qos)

    def save_data(self, data: Any, group: str | None = None) -> bool:
        """Queue ``{topic, qos, payload}`` data, or plain data for the rule's own topic."""
        if isinstance(data, Mapping) and "payload" in data:
            topic = str(data.get("topic") or self._context.topic)
            qos = int(data.get("qos", self._context.qos))
            return self.awsiot_publish(topic, data["payload"], qos)
        return self.awsiot_publish(self._context.topic, data, self._context.qos)

    def write_plc_values(self, message: Any, callback: Any = None, tail: Any = None, timeout: float = 60, *,
                         shape: ResultShape = "ds1") -> None:
        """Write ``{"SP1": 1.5}`` or ``{"PLC1": {"SP1": 1.5}}`` once the call returns.

        ``callback(result, tail, wizard_api)`` then receives one
        ``{value, device, var_name, result: "OK"|"Failed", error}`` per value (or another ``shape``
        of :mod:`gateway.core.write_forms`), or ``("error", -110, "timeout")`` when the write took
        longer than ``timeout`` seconds.
        """
        if not isinstance(message, Mapping) or not message:
            raise ScriptRuntimeError('write_plc_values needs a dict like {"SP1": 1.5} or {"PLC1": {"SP1": 1.5}}')
        if callback is not None and not callable(callback):
            raise ScriptRuntimeError("the callback of write_plc_values must be a function")
        try:
            seconds = write_timeout(timeout)
        except ValueError as exc:
            raise ScriptRuntimeError(f"write_plc_values: {exc}") from exc
        callback_id = self._keep_callback(callback) if callback is not None else None
        self.writes.append(WriteRequest(copy.deepcopy(dict(message)), callback_id, copy.deepcopy(tail), shape,
                                        seconds))

    def recall_data(self, callback: Any, tail: Any = None, timeout: float = 60) -> None:
        """Call ``callback(data, tail[, wizard_api])`` with the latest values of every measure."""
        self._answer("recall_data", "values", callback, tail)

    def get_tag_config(self, callback: Any, tail: Any = None, timeout: float = 60) -> None:
        """Call ``callback(config, tail[, wizard_api])`` with ``{devices, groups, warning, vars}``."""
        self._answer("get_tag_config", "tag_config", callback, tail)

    def get_statistics(self, measure: str, controller: str | None = None) -> dict[str, Any]:
        """Return avg/min/max/count of a measure with history over the last 5 min, hour and day:
        ``{"5min": {...}, "hour": {...}, "day": {...}}`` (empty when it has no history)."""
        if not isinstance(measure, str) or (controller is not None and not isinstance(controller, str)):
            raise ScriptRuntimeError("get_statistics(measure, controller=None) takes names")
        return self._query("statistics", {"measure": measure, "controller": controller})

    def _answer(self, call: str, what: str, callback: Any, tail: Any) -> None:
        if not callable(callback):
            raise ScriptRuntimeError(f"{call} needs a callback function")
        self.hand_back(callback, self._query(what, {}), tail)

    def hand_back(self, callback: Any, data: Any, tail: Any) -> None:
        """Call a script's callback as Device Supervisor does: ``(data, tail)``, or
        ``(data, tail, wizard_api)`` when it takes three parameters."""
        if not callable(callback):
            raise ScriptRuntimeError("the callback must be a function")
        if positional_count(callback) >= 3:
            callback(data, tail, self)
        else:
            callback(data, tail)

    def get_group(self) -> list[dict[str, Any]]:
        """Device Supervisor 2.x's DS1 call: ``[{"name", "uploadInterval"}]`` of every group."""
        answer = self._query("config", {})
        if answer.get("error") or "config" not in answer:
            raise ScriptRuntimeError(f"get_group: {answer.get('error') or 'no gateway answers this script'}")
        return [{"name": g["name"], "uploadInterval": g["uploadInterval"]} for g in answer["config"]["groups"]]

    def update_group(self, group_data: Any) -> dict[str, Any]:
        """Set a group's upload interval (``{"group_name", "upload_interval"}``) when the
        configuration lets scripts change it; see quickfaas.config.set."""
        answer = self._query("config_set", {"group": copy.deepcopy(group_data)})
        if answer.get("error") or "result" not in answer:
            raise ScriptRuntimeError(f"update_group: {answer.get('error') or 'no gateway answers this script'}")
        return {"results": group_data}

    def get_global_parameter(self) -> dict[str, Any]:
        """Return the gateway's parameters and labels."""
        return dict(self._context.global_parameters)

    def publish_to_cloud(self, cloud: str | None, topic: str, payload: Any, qos: int = 1,
                         stored_instead: tuple[str, Any, int] | None = None) -> bool:
        """Device Supervisor 2.x ``publish(..., cloud_name)``: only the rule's own cloud is reachable;
        ``"default"``, the parameter's default, means it. With ``stored_instead`` (``wizard_data``'s
        topic, payload, qos) the message is sent at once when connected, and that is stored otherwise."""
        if cloud and cloud not in ("default", self._context.cloud):
            self._logger.warning("not published: rule '%s' publishes to cloud '%s', not '%s'",
                                 self._context.rule, self._context.cloud, cloud)
            return False
        if stored_instead is not None:
            return self.mqtt_publish(topic, payload, qos) or self.awsiot_publish(*stored_instead)
        return self.awsiot_publish(topic, payload, qos)

    def _message(self, topic: Any, payload: Any, qos: Any) -> OutgoingMessage | None:
        if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
            raise ScriptRuntimeError(f"invalid topic {topic!r}: a non-empty topic without wildcards is needed")
        if qos not in (0, 1, 2):
            raise ScriptRuntimeError(f"invalid qos {qos!r}: use 0 or 1")
        data = encode_payload(payload)
        problem = message_problem(self._context.limits, topic, len(data), int(qos))
        if problem is not None:
            self._logger.warning("not published to cloud '%s': %s", self._context.cloud, problem)
            return None
        return OutgoingMessage(self._context.cloud, topic, data, int(qos))

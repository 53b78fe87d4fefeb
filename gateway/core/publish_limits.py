"""What a cloud accepts in one publish (pure, plain data, so a script worker can check it too).

AWS IoT Core: payload at most 128 KiB, topic at most 256 bytes with at most 7 slashes, QoS 0 or
1, and of the reserved ``$`` topics only the thing's shadow and jobs topics and the provisioning
topics. Any MQTT broker: no wildcards, no ``$`` topics, the protocol's size limit.
"""

from __future__ import annotations

from dataclasses import dataclass

MQTT_MAX_PAYLOAD = 268_435_455
AWS_MAX_PAYLOAD = 128 * 1024
AWS_MAX_TOPIC_BYTES = 256
AWS_MAX_TOPIC_SLASHES = 7
AWS_MAX_SUBSCRIPTIONS = 50


@dataclass(frozen=True)
class PublishLimits:
    """Limits a message must meet before it is stored for a cloud."""

    max_payload: int = MQTT_MAX_PAYLOAD
    max_topic_bytes: int = 65_535
    max_topic_slashes: int | None = None
    max_qos: int = 2
    reserved_prefixes: tuple[str, ...] = ()  # the "$..." topics that may be published to


def shadow_prefix(thing: str) -> str:
    """Return the topic prefix of ``thing``'s classic shadow."""
    return f"$aws/things/{thing}/shadow/"


def aws_iot_limits(thing: str) -> PublishLimits:
    """Return AWS IoT Core's limits for a connection of ``thing``."""
    return PublishLimits(
        max_payload=AWS_MAX_PAYLOAD, max_topic_bytes=AWS_MAX_TOPIC_BYTES, max_topic_slashes=AWS_MAX_TOPIC_SLASHES,
        max_qos=1, reserved_prefixes=(shadow_prefix(thing), f"$aws/things/{thing}/jobs/",
                                      "$aws/certificates/create", "$aws/provisioning-templates/"),
    )


def message_problem(limits: PublishLimits, topic: str, payload_size: int, qos: int) -> str | None:
    """Return why a message cannot be published under ``limits``, or None when it can."""
    if not topic or "+" in topic or "#" in topic:
        return f"invalid topic {topic!r}: a non-empty topic without wildcards is needed"
    if qos not in (0, 1, 2) or qos > limits.max_qos:
        return f"qos {qos!r} is not accepted here (0 to {limits.max_qos})"
    if len(topic.encode()) > limits.max_topic_bytes:
        return f"topic '{topic[:40]}...' is longer than {limits.max_topic_bytes} bytes"
    if limits.max_topic_slashes is not None and topic.count("/") > limits.max_topic_slashes:
        return f"topic '{topic}' has more than {limits.max_topic_slashes} slashes"
    if topic.startswith("$") and not topic.startswith(limits.reserved_prefixes):
        if limits.reserved_prefixes:
            return f"topic '{topic}' is reserved: only the thing's own shadow, jobs and provisioning $aws topics are"
        return f"topic '{topic}' is reserved by the broker"
    if payload_size > limits.max_payload:
        return f"payload of {payload_size} bytes is larger than {limits.max_payload}"
    return None

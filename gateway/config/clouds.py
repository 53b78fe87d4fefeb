"""The models of the northbound connections: MQTT brokers, AWS IoT Core (its rules are checked
here, not by the cloud at run time) and IoTgo servers."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from gateway.core.publish_limits import PublishLimits, aws_iot_limits, shadow_prefix

from .base import Name, Port, Positive
from .base import StrictModel as _Model

_IOTGO_FORMS = {  # IoTgo's own formats, with the message shown when a value does not match
    "deviceid": (r"[0-9a-f]{10}", "a deviceid is 10 lowercase hex digits, e.g. 1000000001 (DIY) or 1080000001"),
    "apikey": (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
               "an apikey is a lowercase UUID, e.g. 123e4567-e89b-12d3-a456-426614174000"),
}
HIDDEN_SECRET = "********"  # what the API shows for a secret, and takes back as "keep the stored one"
AWS_CLIENT_ID_BYTES = 128
AWS_KEEPALIVE = (30, 1200)
AWS_MAX_INFLIGHT = 100
AWS_PUBLISHES_PER_SECOND = 100
AWS_BYTES_PER_SECOND = 512 * 1024


class Will(_Model):
    """MQTT last will."""

    topic: str
    payload: str = ""
    qos: Literal[0, 1, 2] = 0
    retain: bool = False


class Shadow(_Model):
    """Keep a device shadow: measures reported on change, ``desired`` changes written to the PLC.

    The thing is the cloud's ``client_id``. ``timestamp: true`` adds a top-level timestamp in epoch
    milliseconds to each update (the Telenor Managed IoT Cloud convention).
    """

    enabled: bool = True
    measures: list[Name] = []
    group: Name | None = None
    timestamp: bool = False
    interval: Positive = 1.0

    @model_validator(mode="after")
    def _one_source(self) -> Shadow:
        if bool(self.measures) == bool(self.group):
            raise ValueError("name the shadow's measures, or a group, not both")
        return self


SPARKPLUG_FORBIDDEN = "+/#"  # in a Sparkplug group, edge node or device id (they are topic levels)


class Sparkplug(_Model):
    """The gateway as a Sparkplug B edge node: each controller a device, each measure a metric.

    ``edge_node_id`` defaults to the gateway's name; ``groups`` limits the measures to those
    groups (all when empty).
    """

    group_id: Annotated[str, Field(min_length=1, max_length=64)]
    edge_node_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    groups: list[Name] = []

    @field_validator("group_id", "edge_node_id")
    @classmethod
    def _topic_safe(cls, value: str | None) -> str | None:
        if value is not None and set(value) & set(SPARKPLUG_FORBIDDEN):
            raise ValueError(f"'{value}': '+', '/' and '#' are not allowed in a Sparkplug id")
        return value


class Provisioning(_Model):
    """AWS IoT fleet provisioning by claim: get the thing's own certificate on first connection.

    ``method: csr`` (the default) makes the key on the gateway and sends only a signing request;
    ``create`` lets AWS IoT make the key. ``parameters`` go to the template; ``${SN}``, ``${MAC}``
    and labels are substituted.
    """

    template: Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z_-]+$")]
    claim_cert: str
    claim_key: str
    method: Literal["csr", "create"] = "csr"
    parameters: dict[str, str] = {}
    timeout: Positive = 30.0


class IotgoDevice(_Model):
    """An IoTgo device the gateway acts as: its id, its key, and the measures that are its params."""

    deviceid: str  # 10 lowercase hex digits
    apikey: str  # a lowercase UUID
    measures: list[Name] = []  # "Temp" or "PLC1/Temp"
    group: Name | None = None  # every measure of a group, instead of naming them
    factory: bool = False  # a factory device registers first and then uses the owner's apikey

    @field_validator("deviceid", mode="before")
    @classmethod
    def _deviceid_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"write the deviceid in quotes: unquoted, YAML reads it as the number {value}")
        return value

    @field_validator("deviceid", "apikey")
    @classmethod
    def _iotgo_form(cls, value: str, info: ValidationInfo) -> str:
        pattern, expected = _IOTGO_FORMS[str(info.field_name)]
        if value == HIDDEN_SECRET and info.field_name == "apikey" and (info.context or {}).get("secrets_hidden"):
            return value  # a form sends the stored key back as the placeholder; it is put back before saving
        if not re.fullmatch(pattern, value):
            raise ValueError(expected)
        return value

    @model_validator(mode="after")
    def _measures_or_group(self) -> IotgoDevice:
        if bool(self.measures) == (self.group is not None):
            raise ValueError("give the device either measures or a group")
        return self


class Cloud(_Model):
    """A northbound connection: an MQTT broker, AWS IoT Core, or an IoTgo server."""

    name: Name
    type: Literal["aws-iot", "mqtt", "iotgo", "sparkplug"]
    host: str
    port: Port | None = None
    client_id: str | None = None
    cert: str | None = None
    key: str | None = None
    root_ca: str | None = None
    keepalive: Annotated[int, Field(ge=5, le=65535)] = 60
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    clean_session: bool = True
    will: Will | None = None
    max_inflight: Annotated[int, Field(ge=1, le=1000)] = 20
    publish_rate: Annotated[float, Field(gt=0)] | None = None
    publish_bytes_rate: Annotated[float, Field(gt=0)] | None = None
    puback_timeout: Annotated[float, Field(gt=0)] = 30.0
    mqtt_version: Literal["3.1.1", "5"] = "3.1.1"
    shadow: Shadow | None = None
    provisioning: Provisioning | None = None
    devices: list[IotgoDevice] = []  # iotgo: the gateway's measures as IoTgo devices
    update_interval: Positive = 5.0  # iotgo: how often a device's params are sent
    response_timeout: Positive = 10.0  # iotgo: how long to wait for the server's answer to a request
    query_interval: Positive = 5.0  # iotgo: how often DIY devices with rw measures ask for the app's changes
    local_bus: bool = False  # scripts' quickfaas.messagebus.publish sends here (one MQTT cloud at most)
    sparkplug: Sparkplug | None = None  # type sparkplug: its group and edge node

    @model_validator(mode="after")
    def _iotgo_rules(self) -> Cloud:
        """An IoTgo cloud has devices and no MQTT features; an MQTT cloud has no devices."""
        if self.type != "iotgo":
            if self.local_bus and self.type != "mqtt":
                raise ValueError("the local bus is an MQTT broker: local_bus needs type mqtt")
            if self.devices:
                raise ValueError("devices belong to an iotgo cloud")
            return self
        if not self.devices:
            raise ValueError("an iotgo cloud needs devices: [{deviceid, apikey, measures or group}]")
        mqtt_only = [f for f in ("shadow", "provisioning", "will", "cert", "key") if getattr(self, f) is not None]
        mqtt_only += ["local_bus"] if self.local_bus else []
        if mqtt_only:
            raise ValueError(f"{', '.join(mqtt_only)} do not apply to an iotgo cloud")
        return self

    @model_validator(mode="after")
    def _sparkplug_rules(self) -> Cloud:
        """A Sparkplug cloud names its group; its will is the NDEATH and its messages its own."""
        if self.type != "sparkplug":
            if self.sparkplug is not None:
                raise ValueError("sparkplug settings belong to a cloud of type sparkplug")
            return self
        if self.sparkplug is None:
            raise ValueError("a sparkplug cloud needs sparkplug: {group_id: ...}")
        other = [f for f in ("shadow", "provisioning", "will") if getattr(self, f) is not None]
        other += ["local_bus"] if self.local_bus else []
        if other:
            raise ValueError(f"{', '.join(other)} do not apply to a sparkplug cloud (its will is the NDEATH)")
        return self

    @model_validator(mode="after")
    def _aws_iot_rules(self) -> Cloud:
        """AWS IoT Core's connection rules, refused here rather than by the cloud at run time."""
        if self.type != "aws-iot":
            return self
        problems = []
        if not self.root_ca:
            problems.append("aws-iot needs root_ca, to verify the server")
        if self.provisioning is None and not (self.cert and self.key):
            problems.append("aws-iot needs cert and key (mutual TLS with the thing certificate), or provisioning")
        if self.provisioning is None and not self.client_id:
            problems.append("aws-iot needs client_id, the thing name")
        elif self.client_id and len(self.client_id.encode()) > AWS_CLIENT_ID_BYTES:
            problems.append(f"client_id is longer than AWS IoT's {AWS_CLIENT_ID_BYTES} bytes")
        if self.port not in (None, 8883, 443):
            problems.append("aws-iot listens on port 8883, or 443 with ALPN")
        if not AWS_KEEPALIVE[0] <= self.keepalive <= AWS_KEEPALIVE[1]:
            problems.append(f"AWS IoT accepts keepalive from {AWS_KEEPALIVE[0]} to {AWS_KEEPALIVE[1]} s")
        if self.tls is False and "tls" in self.model_fields_set:
            problems.append("aws-iot is always TLS; remove tls: false")
        if self.max_inflight > AWS_MAX_INFLIGHT:
            problems.append(f"AWS IoT allows at most {AWS_MAX_INFLIGHT} unacknowledged QoS 1 messages")
        if self.publish_rate is not None and self.publish_rate >= AWS_PUBLISHES_PER_SECOND:
            problems.append(f"AWS IoT throttles at {AWS_PUBLISHES_PER_SECOND} publishes/s per connection")
        if self.publish_bytes_rate is not None and self.publish_bytes_rate > AWS_BYTES_PER_SECOND:
            problems.append(f"AWS IoT throttles at {AWS_BYTES_PER_SECOND // 1024} KiB/s per connection")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def uses_tls(self) -> bool:
        """Return True when the connection must be TLS (always for AWS IoT)."""
        return self.type == "aws-iot" or self.tls

    @property
    def effective_port(self) -> int:
        """Return the configured port or the protocol default."""
        if self.type == "iotgo":
            return self.port or (443 if self.tls else 80)
        return self.port or (8883 if self.uses_tls else 1883)

    @property
    def publish_limits(self) -> PublishLimits:
        """Return what one publish to this cloud may be."""
        if self.type == "aws-iot" or self.provisioning is not None:
            return aws_iot_limits(self.client_id or "")
        if self.shadow_enabled:  # a broker standing in for AWS IoT's shadow service
            return PublishLimits(reserved_prefixes=(shadow_prefix(self.client_id or ""),))
        return PublishLimits()

    @property
    def shadow_enabled(self) -> bool:
        """Return True when this cloud keeps a device shadow."""
        return self.shadow is not None and self.shadow.enabled

    @property
    def effective_rate(self) -> float:
        """Return publishes per second allowed (AWS IoT: under 100/s per connection)."""
        if self.publish_rate is not None:
            return self.publish_rate
        return 90.0 if self.type == "aws-iot" else 1000.0

    @property
    def effective_bytes_rate(self) -> float | None:
        """Return bytes per second allowed (AWS IoT: 512 KiB/s per connection), None for no limit."""
        if self.publish_bytes_rate is not None:
            return self.publish_bytes_rate
        return 0.9 * AWS_BYTES_PER_SECOND if self.type == "aws-iot" else None

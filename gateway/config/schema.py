"""The typed model of config.yaml (DESIGN.md section 3).

Structure, types and ranges live here; references between sections and protocol-specific
checks (addresses, driver args) live in :mod:`gateway.config.references`. Unknown keys are
refused so that a misspelt key is reported instead of silently ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.publish_limits import PublishLimits, aws_iot_limits, shadow_prefix
from gateway.southbound import ByteOrder, DataType

AWS_CLIENT_ID_BYTES = 128
AWS_KEEPALIVE = (30, 1200)
AWS_MAX_INFLIGHT = 100
AWS_PUBLISHES_PER_SECOND = 100
AWS_BYTES_PER_SECOND = 512 * 1024

Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
Positive = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class WebSection(_Model):
    """Where the admin UI listens."""

    host: str = "0.0.0.0"
    port: Port = 8080
    metrics_token: SecretStr | None = None  # a Prometheus scraper sends it as a bearer token to /metrics


class GatewaySection(_Model):
    """Identity and housekeeping of this gateway."""

    name: Name = "gateway"
    data_dir: str = "./state"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    labels: dict[str, str] = {}
    web: WebSection = WebSection()


class SerialPort(_Model):
    """A serial line, shared by the Modbus RTU controllers on it."""

    name: Name
    device: str
    baud: Annotated[int, Field(gt=0)] = 9600
    bits: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class Controller(_Model):
    """One PLC and how to poll it."""

    name: Name
    protocol: str
    endpoint: str
    sample_period: Positive = 1.0
    timeout: Positive = 2.0
    args: dict[str, Any] = {}


class GainOffset(_Model):
    """``value = raw * gain + offset``."""

    kind: Literal["gain_offset"]
    gain: float = 1.0
    offset: float = 0.0


class Ratio(_Model):
    """Map ``[min_value, max_value]`` linearly onto ``[min_scale, max_scale]``."""

    kind: Literal["ratio"]
    min_value: float
    max_value: float
    min_scale: float
    max_scale: float

    @model_validator(mode="after")
    def _distinct_bounds(self) -> Ratio:
        if self.min_value == self.max_value:
            raise ValueError("min_value and max_value must differ")
        return self


class PtCt(_Model):
    """``value = raw * pt * ct``: primary values of a meter behind voltage and current transformers."""

    kind: Literal["pt_ct"]
    pt: Annotated[float, Field(gt=0)] = 1.0
    ct: Annotated[float, Field(gt=0)] = 1.0


class BitSlice(_Model):
    """The unsigned integer held in bits ``start``..``end`` (inclusive) of the raw value."""

    kind: Literal["bit_slice"]
    start: Annotated[int, Field(ge=0, le=63)]
    end: Annotated[int, Field(ge=0, le=63)]

    @model_validator(mode="after")
    def _ordered(self) -> BitSlice:
        if self.end < self.start:
            raise ValueError("end must not be below start")
        return self


class ValueMap(_Model):
    """Replace raw values by names, e.g. ``{0: stopped, 1: running}``; unmapped values pass through."""

    kind: Literal["value_map"]
    map: dict[int | float | str, int | float | str | bool]

    @model_validator(mode="after")
    def _reversible(self) -> ValueMap:
        if len(set(self.map.values())) != len(self.map):
            raise ValueError("two raw values map to the same name, so writes could not be mapped back")
        return self


Transform = Annotated[GainOffset | Ratio | PtCt | BitSlice | ValueMap, Field(discriminator="kind")]


class Measure(_Model):
    """One tag: where it is read and how it is shaped and uploaded."""

    name: Name
    controller: Name
    group: Name
    address: str
    type: DataType
    length: Annotated[int, Field(ge=0, le=254)] = 0
    encoding: Literal["utf-8", "ascii"] = "utf-8"
    byte_order: ByteOrder | None = None
    access: Literal["ro", "rw"] = "ro"
    unit: str = ""
    desc: str = ""
    decimal: Annotated[int, Field(ge=0, le=10)] | None = None
    upload: Literal["periodic", "onchange", "never"] = "periodic"
    deadband: Annotated[float, Field(ge=0)] = 0.0
    transform: Transform | None = None

    @field_validator("address", mode="before")
    @classmethod
    def _address_text(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return value
        if value < 10000:
            raise ValueError(
                f"write the address in quotes: as a YAML number it reads as {value} "
                "and has lost its leading zeros"
            )
        return str(value)

    @field_validator("type", mode="before")
    @classmethod
    def _type_upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class Group(_Model):
    """Measures uploaded together every ``upload_interval`` seconds."""

    name: Name
    upload_interval: Positive = 10.0
    history: bool = False
    history_days: Annotated[float, Field(gt=0, le=3650)] = 7.0  # samples older than this are deleted
    history_max_points: Annotated[int, Field(ge=100, le=100_000_000)] = 1_000_000  # per measure, oldest go first


class Condition(_Model):
    """One alarm comparison."""

    op: Literal["eq", "neq", "gt", "egt", "lt", "elt"]
    value: float


class Alarm(_Model):
    """An alarm rule on one measure."""

    name: Name
    measure: Name
    controller: Name | None = None
    level: Annotated[int, Field(ge=1, le=5)] = 1
    content: str = ""
    cond1: Condition
    combine: Literal["none", "and", "or"] = "none"
    cond2: Condition | None = None
    label: str = "default"
    hysteresis: Annotated[float, Field(ge=0)] = 0.0  # how far back past the threshold before it clears
    delay: Annotated[float, Field(ge=0, le=86400)] = 0.0  # seconds a change must last before it counts


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

    @field_validator("deviceid")
    @classmethod
    def _deviceid(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{10}", value):
            raise ValueError("a deviceid is 10 lowercase hex digits, e.g. 10000abcde")
        return value

    @field_validator("apikey")
    @classmethod
    def _apikey(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
            raise ValueError("an apikey is a lowercase UUID, e.g. 123e4567-e89b-12d3-a456-426614174000")
        return value

    @model_validator(mode="after")
    def _measures_or_group(self) -> IotgoDevice:
        if bool(self.measures) == (self.group is not None):
            raise ValueError("give the device either measures or a group")
        return self


class Cloud(_Model):
    """A northbound connection: an MQTT broker, AWS IoT Core, or an IoTgo server."""

    name: Name
    type: Literal["aws-iot", "mqtt", "iotgo"]
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

    @model_validator(mode="after")
    def _iotgo_rules(self) -> Cloud:
        """An IoTgo cloud has devices and no MQTT features; an MQTT cloud has no devices."""
        if self.type != "iotgo":
            if self.devices:
                raise ValueError("devices belong to an iotgo cloud")
            return self
        if not self.devices:
            raise ValueError("an iotgo cloud needs devices: [{deviceid, apikey, measures or group}]")
        mqtt_only = [f for f in ("shadow", "provisioning", "will", "cert", "key") if getattr(self, f) is not None]
        if mqtt_only:
            raise ValueError(f"{', '.join(mqtt_only)} do not apply to an iotgo cloud")
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


class Cache(_Model):
    """Bounds and durability of the outbox."""

    max_messages: Annotated[int, Field(gt=0)] = 100_000
    max_mb: Positive = 256
    durability: Literal["normal", "full"] = "normal"
    drain: Literal["fifo", "live-first"] = "fifo"
    max_alarm_records: Annotated[int, Field(ge=10, le=1_000_000)] = 2000  # raises and clears kept in the alarm log


class PublishRule(_Model):
    """Which snapshots go to which cloud, shaped by which script."""

    name: Name
    cloud: Name
    topic: str
    qos: Literal[0, 1, 2] = 1
    source: Literal["group", "alarm"] = "group"
    groups: list[Name] = []
    labels: list[str] = []
    function: str | None = None
    script: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PublishRule:
        if self.source == "group" and not self.groups:
            raise ValueError("a rule with source: group needs at least one group in groups")
        if self.script and not self.function:
            raise ValueError("a script needs the name of its main function in function")
        return self


class SubscribeRule(_Model):
    """A cloud topic whose messages are handed to a script."""

    name: Name
    cloud: Name
    topic: str
    qos: Literal[0, 1, 2] = 0
    function: str = "main"
    script: str


class CustomFunction(_Model):
    """A script function run at start (``startup``) or every ``period`` seconds (``periodic``).

    It is called as ``main(wizard_api)`` (or ``main()``); what it publishes goes to ``cloud``.
    """

    name: Name
    mode: Literal["periodic", "startup"] = "periodic"
    period: Positive | None = None
    function: str = "main"
    script: str
    cloud: Name | None = None
    topic: str = ""

    @model_validator(mode="after")
    def _period_when_periodic(self) -> CustomFunction:
        if self.mode == "periodic" and self.period is None:
            raise ValueError("a periodic function needs period (seconds)")
        return self


class GatewayConfig(_Model):
    """The whole of config.yaml."""

    gateway: GatewaySection = GatewaySection()
    serial_ports: list[SerialPort] = []
    controllers: list[Controller] = []
    measures: list[Measure] = []
    groups: list[Group] = []
    alarms: list[Alarm] = []
    clouds: list[Cloud] = []
    cache: Cache = Cache()
    publish: list[PublishRule] = []
    subscribe: list[SubscribeRule] = []
    functions: list[CustomFunction] = []

"""The typed model of config.yaml (docs/design.md section 3).

Structure, types and ranges live here; references between sections and protocol-specific
checks (addresses, driver args) live in :mod:`gateway.config.references`. Unknown keys are
refused so that a misspelt key is reported instead of silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.dataclasses import dataclass

from gateway.southbound import ByteOrder, DataType

from .base import STRICT, Name, Port, Positive
from .base import StrictModel as _Model
from .clouds import (
    AWS_BYTES_PER_SECOND,
    AWS_CLIENT_ID_BYTES,
    AWS_KEEPALIVE,
    AWS_MAX_INFLIGHT,
    AWS_PUBLISHES_PER_SECOND,
    Cloud,
    IotgoDevice,
    Provisioning,
    Shadow,
    Will,
)

__all__ = ["AWS_BYTES_PER_SECOND", "AWS_CLIENT_ID_BYTES", "AWS_KEEPALIVE", "AWS_MAX_INFLIGHT",
           "AWS_PUBLISHES_PER_SECOND", "Cloud", "IotgoDevice", "Name", "Port", "Positive", "Provisioning", "Shadow",
           "Will"]


class WebSection(_Model):
    """Where the admin UI listens: HTTPS on ``port`` (unless ``tls`` is off), and optionally plain
    HTTP on ``http_port``, which only redirects to HTTPS."""

    host: str = "0.0.0.0"
    port: Port = 8443
    tls: bool = True  # with the certificate made at first start under data_dir/web/, or one uploaded
    http_port: Port | None = None  # e.g. 8080: a browser typing http:// is sent to https://
    metrics_token: SecretStr | None = None  # a Prometheus scraper sends it as a bearer token to /metrics

    @model_validator(mode="after")
    def _ports(self) -> WebSection:
        if self.http_port is not None and not self.tls:
            raise ValueError("http_port redirects to HTTPS: it needs tls: true (without TLS, port serves HTTP)")
        if self.http_port == self.port:
            raise ValueError("http_port must differ from port")
        return self


class GatewaySection(_Model):
    """Identity and housekeeping of this gateway."""

    name: Name = "gateway"
    data_dir: str = "./state"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    labels: dict[str, str] = {}
    web: WebSection = WebSection()
    # quickfaas.config.set and wizard_api.update_group may change group intervals and labels
    scripts_change_config: bool = False


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

    @property
    def public_args(self) -> dict[str, Any]:
        """Return the args a script may see: without a login secret or certificate files (an OPC
        UA controller's), which only the driver and the saved file hold."""
        return {key: value for key, value in self.args.items() if key not in PRIVATE_ARGS}


PRIVATE_ARGS = frozenset({"password", "private_key", "certificate", "server_certificate"})


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


@dataclass(slots=True, config=STRICT)  # frozen, as STRICT says
class Measure:
    """One tag: where it is read and how it is shaped and uploaded.

    A slotted dataclass rather than a model: a configuration may hold 100,000 of them, and a
    model instance costs some 1.3 KB (its ``__dict__`` and its set of given fields) against 160 B.
    """

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
    """A script function run at start (``startup``), every ``period`` seconds (``periodic``), or
    on each message of ``trigger_topic`` on ``cloud`` (``message``).

    It is called as ``main()``, ``main(message)`` (the message's payload, decoded when it is JSON;
    None when no message triggered it) or ``main(wizard_api)``; what it publishes goes to ``cloud``.
    """

    name: Name
    mode: Literal["periodic", "startup", "message"] = "periodic"
    period: Positive | None = None
    function: str = "main"
    script: str
    cloud: Name | None = None
    topic: str = ""
    trigger_topic: str | None = None

    @model_validator(mode="after")
    def _what_the_mode_needs(self) -> CustomFunction:
        if self.mode == "periodic" and self.period is None:
            raise ValueError("a periodic function needs period (seconds)")
        if self.mode == "message" and (not self.trigger_topic or self.cloud is None):
            raise ValueError("a message function needs cloud and trigger_topic (the topic whose messages call it)")
        if self.mode != "message" and self.trigger_topic is not None:
            raise ValueError("trigger_topic belongs to mode: message")
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
    services: dict[str, dict[str, Any]] = {}  # data services by key, each checked by its settings model

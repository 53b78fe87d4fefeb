"""The models of the data services (``services:``): what the gateway serves to a local SCADA or
HMI, as Device Supervisor's "data services" do. Cross-section checks (the measures a map names,
overlapping addresses) live in :mod:`gateway.config.references`."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gateway.southbound import ByteOrder, DataType

from .base import Name, Port
from .base import StrictModel as _Model


class ModbusMapEntry(_Model):
    """One measure served at a Modbus address (Device Supervisor's mapping table row)."""

    controller: Name
    measure: Name
    address: str  # Device Supervisor's form: 400001 holding, 300001 input, 000001 coil, 100001 discrete
    type: DataType | None = None  # default: the measure's (FLOAT for a measure with a transform)
    byte_order: ByteOrder | None = None  # default: the service's

    @field_validator("type", mode="before")
    @classmethod
    def _type_upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("address", mode="before")
    @classmethod
    def _address_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"write the address in quotes ('{value:06d}'): as a YAML number it loses its area digit")
        return value


class ModbusServer(_Model):
    """The gateway as a Modbus TCP slave: a SCADA reads the latest values and writes ``rw``
    measures through to their PLCs."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: Port = 502  # below 1024 needs root or CAP_NET_BIND_SERVICE (see docs/design.md)
    unit_id: Annotated[int, Field(ge=0, le=247)] = 1  # 0: answer every unit id
    max_connections: Annotated[int, Field(ge=1, le=64)] = 5
    allowed_clients: list[str] = []  # addresses or networks (10.0.0.0/24); empty: any client
    byte_order: ByteOrder = ByteOrder.ABCD  # of 32- and 64-bit values
    on_bad: Literal["exception", "substitute"] = "exception"
    substitute: float = 0  # served for a bad reading with on_bad: substitute, a quality word after it
    layout: Literal["manual", "auto"] = "manual"  # auto: every measure, in measure order, from address 1
    map: list[ModbusMapEntry] = []

    @field_validator("allowed_clients")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not an address or a network such as 10.0.0.0/24") from None
        return value

    @model_validator(mode="after")
    def _one_layout(self) -> ModbusServer:
        if self.layout == "auto" and self.map:
            raise ValueError("layout: auto lays out every measure itself; give map entries only with layout: manual")
        return self


class Services(_Model):
    """The data services; each is off until configured."""

    modbus_server: ModbusServer | None = None

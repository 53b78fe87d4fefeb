"""The settings of the Modbus TCP slave (``services.modbus_server``), Device Supervisor's Modbus
slave page: listen address, unit id, byte order, connection limit, and its mapping table."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.services.contract import ServiceSettings
from gateway.southbound import ByteOrder, DataType


class ModbusMapEntry(BaseModel):
    """One measure served at a Modbus address (a row of Device Supervisor's mapping table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    controller: Annotated[str, Field(min_length=1)]
    measure: Annotated[str, Field(min_length=1)]
    address: str  # Device Supervisor's form: 400001 holding, 300001 input, 000001 coil, 100001 discrete
    type: DataType | None = None  # default: the measure's (FLOAT for a scaled measure)
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


class ModbusServerSettings(ServiceSettings):
    """The gateway as a Modbus TCP slave."""

    host: str = Field("0.0.0.0", description="the address to listen on (127.0.0.1: this machine only)")
    port: Annotated[int, Field(ge=1, le=65535, description="below 1024 (502) needs root or CAP_NET_BIND_SERVICE")] = 502
    unit_id: Annotated[int, Field(ge=0, le=247, description="the unit id answered; 0 answers every one")] = 1
    max_connections: Annotated[int, Field(ge=1, le=64, description="clients served at once")] = 5
    allowed_clients: list[str] = Field(default_factory=list, description=(
        "addresses or networks (10.0.0.0/24) that may connect; empty: any client"))
    byte_order: ByteOrder = Field(ByteOrder.ABCD, description="of 32- and 64-bit values (a map entry may differ)")
    on_bad: Literal["exception", "substitute"] = Field("exception", description=(
        "a bad reading answers exception 4, or the substitute with a quality word (1) after the value"))
    substitute: float = Field(0, description="served for a bad reading with on_bad: substitute")
    layout: Literal["manual", "auto"] = Field("manual", description=(
        "auto: every measure in measure order (rw in holding registers and coils, ro in input registers and "
        "discrete inputs); manual: the map"))
    map: list[ModbusMapEntry] = Field(default_factory=list, description=(
        'rows of {controller, measure, address: "400001", type?, byte_order?}'))

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
    def _one_layout(self) -> ModbusServerSettings:
        if self.layout == "auto" and self.map:
            raise ValueError("layout: auto lays out every measure itself; give map entries only with layout: manual")
        return self

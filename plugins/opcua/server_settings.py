"""The settings of the OPC UA server (``services.opcua_server``), Device Supervisor's OPC UA
server page: port, security, users."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.services.contract import ServiceSettings


class OpcUaUser(BaseModel):
    """A user name and its password (a secret: the API shows it as ********)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: SecretStr

    @model_validator(mode="after")
    def _long_enough(self) -> OpcUaUser:
        if len(self.password.get_secret_value()) < 8:
            raise ValueError("a password has at least 8 characters")
        return self


class OpcUaServerSettings(ServiceSettings):
    """The gateway as an OPC UA server: every measure a variable under Objects/<gateway>/<controller>."""

    host: str = Field("0.0.0.0", description="the address to listen on (127.0.0.1: this machine only)")
    port: Annotated[int, Field(ge=1, le=65535, description="the OPC UA port (4840 by convention)")] = 4840
    namespace_uri: str = Field("urn:edge-gateway:measures", min_length=1, description=(
        "the namespace of the measures' nodes (s=<controller>.<measure>)"))
    allow_unencrypted: bool = Field(False, description=(
        "also offer the endpoint without security (None); Sign and SignAndEncrypt (Basic256Sha256) are always offered"))
    allow_anonymous: bool = Field(False, description="let clients in without a user name")
    users: list[OpcUaUser] = Field(default_factory=list, description='[{"username": "scada", "password": "..."}]')

    @model_validator(mode="after")
    def _someone_can_log_in(self) -> OpcUaServerSettings:
        if not self.users and not self.allow_anonymous:
            raise ValueError("nobody could log in: give users, or allow_anonymous")
        names = [user.username for user in self.users]
        if len(set(names)) != len(names):
            raise ValueError("two users have the same user name")
        return self

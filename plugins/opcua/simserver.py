"""A simulated OPC UA server on asyncua's own server, for the demo and the tests.

It serves a variable for every point's NodeId (numeric, string, GUID or opaque; a namespace given
by index or by URI is registered for it) with the Variant type of the point's type. Read-only
points move with time unless pinned with ``set_value``; writable ones keep what a client wrote.
``security`` adds Basic256Sha256 Sign and SignAndEncrypt endpoints with the given server
certificate, ``users`` turns on user-name authentication (and off anonymous access).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager

from gateway.southbound import Point
from gateway_plugins.simulator.waveforms import value_at

from . import codec
from .addresses import NodeAddress, check_point

SIM_NAMESPACE = "urn:edge-gateway:simulator"


class _Users(UserManager):
    """asyncua's user manager: a user name with its password, nobody else."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = dict(users)

    def get_user(self, _iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is not None:  # a user name token: its password must match
            return User(role=UserRole.User) if self._users.get(username) == password else None
        return User(role=UserRole.User) if certificate is not None else None  # an X509 token (anonymous is off)


class OpcUaSimServer:
    """Serve ``points`` on ``opc.tcp://host:port``; moving values change every ``period`` s."""

    def __init__(self, points: Sequence[Point], host: str = "127.0.0.1", port: int = 4840,
                 moving: Callable[[Point], bool] = lambda _p: True, *, period: float = 0.2,
                 clock: Callable[[], float] = time.time, security: tuple[Path, Path] | None = None,
                 users: Mapping[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.url = f"opc.tcp://{host}:{port}"
        self._points = {p.name: (p, check_point(p)) for p in points}
        self._moving = {name for name, (p, _) in self._points.items() if moving(p)}
        self._pinned: dict[str, Any] = {}
        self._node_ids: dict[str, ua.NodeId] = {}
        self._period, self._clock = period, clock
        self._security, self._users = security, users
        self._server: Server | None = None
        self._mover: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Build the address space and listen."""
        logging.getLogger("asyncua").setLevel(logging.CRITICAL)
        server = Server(user_manager=_Users(self._users) if self._users is not None else None)
        await server.init()
        server.set_endpoint(f"{self.url}/")
        server.set_server_name("edge-gateway simulated OPC UA server")
        policies = [ua.SecurityPolicyType.NoSecurity]
        if self._security is not None:
            certificate, key = self._security
            await server.load_certificate(str(certificate))
            await server.load_private_key(str(key))
            policies += [ua.SecurityPolicyType.Basic256Sha256_Sign, ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        server.set_security_policy(policies)
        tokens = [ua.UserNameIdentityToken, ua.X509IdentityToken] if self._users is not None else \
            [ua.AnonymousIdentityToken, ua.UserNameIdentityToken, ua.X509IdentityToken]
        server.set_identity_tokens(tokens)
        await server.register_namespace(SIM_NAMESPACE)
        folder = await server.nodes.objects.add_folder(ua.NodeId.from_string("ns=2;s=Simulated"), "Simulated")
        now = self._clock()
        for name, (point, address) in self._points.items():
            node_id = await _node_id(server, address)
            if node_id in self._node_ids.values():
                self._node_ids[name] = node_id  # another measure on the same node
                continue
            variant = getattr(ua.VariantType, codec.VARIANT_OF[point.dtype])
            variable = await folder.add_variable(node_id, name, self._value(point, now), variant)
            await variable.set_writable()
            self._node_ids[name] = node_id
        await server.start()
        self._server = server
        self._mover = asyncio.create_task(self._move(), name=f"opcua-sim-{self.port}")

    async def stop(self) -> None:
        """Stop moving values and listening."""
        if self._mover is not None:
            self._mover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mover
        if self._server is not None:
            await self._server.stop()
        self._server = self._mover = None

    def set_value(self, name: str, value: Any) -> None:
        """Pin a point to ``value`` (sent from the next refresh on); KeyError if unknown."""
        if name not in self._points:
            raise KeyError(name)
        self._pinned[name] = value

    def get_value(self, name: str) -> Any:
        """Return the value the server holds for a point now."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        data = self._server.iserver.aspace.read_attribute_value(self._node_ids[name], ua.AttributeIds.Value)
        return data.Value.Value if data.Value is not None else None

    async def write_status(self, name: str, status: int, value: Any = None) -> None:
        """Give a point a value with a status (a Bad or Uncertain one, as a failing sensor would)."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        point, _ = self._points[name]
        variant = getattr(ua.VariantType, codec.VARIANT_OF[point.dtype])
        data = ua.DataValue(ua.Variant(value, variant if value is not None else ua.VariantType.Null),
                            StatusCode=ua.StatusCode(ua.UInt32(status)),
                            SourceTimestamp=datetime.datetime.now(datetime.UTC))  # type: ignore[arg-type]
        self._moving.discard(name)
        await self._server.write_attribute_value(self._node_ids[name], data)

    def _value(self, point: Point, t: float) -> Any:
        if point.name in self._pinned:
            return self._pinned[point.name]
        return value_at(point.dtype, t, point.name, point.length or 8)

    async def _move(self) -> None:
        while self._server is not None:
            await asyncio.sleep(self._period)
            now = self._clock()
            for name in self._moving | set(self._pinned):
                point, _ = self._points[name]
                variant = getattr(ua.VariantType, codec.VARIANT_OF[point.dtype])
                await self._server.write_attribute_value(self._node_ids[name],
                                                         ua.DataValue(ua.Variant(self._value(point, now), variant)))
            self._pinned_written()

    def _pinned_written(self) -> None:
        """A pinned writable point keeps its pin only until written once: later a client may change it."""
        for name in [n for n in self._pinned if n not in self._moving]:
            del self._pinned[name]


async def _node_id(server: Server, address: NodeAddress) -> ua.NodeId:
    if address.namespace_uri is not None:
        index = await server.register_namespace(address.namespace_uri)
    else:
        index = address.namespace or 0
        while len(await server.get_namespace_array()) <= index:
            await server.register_namespace(f"{SIM_NAMESPACE}:{len(await server.get_namespace_array())}")
    return ua.NodeId.from_string(address.with_index(index))


def simulate(points: Sequence[Point], port: int, _args: Any, moving: Callable[[Point], bool]) -> OpcUaSimServer:
    """Build a simulated OPC UA server on 127.0.0.1:``port`` for a controller's points, as the demo
    and the plugin's sample test run it."""
    return OpcUaSimServer(points, "127.0.0.1", port, moving)

"""The OPC UA server on asyncua: the address space of the measures, the push of each change,
and writes through to the PLC.

Values: a poll's changed readings are noted by :meth:`LatestValues.watch` (nothing asks the
store what changed) and written into the address space by one task, the latest value of a
reading once however often it changed in between. A good reading is Good (Uncertain when the
device said so), with the device's source timestamp where it gave one, else the time it was
read; a failed read is BadCommunicationError, a measure never read BadWaitingForInitialData.

Writes: the attribute service is asyncua's with ``write`` taking the measures' Value attribute
over, so a client's value is never stored or published as the node's value: it goes to the PLC
and the client's answer waits for it. Everything else is asyncua's own.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AttributeService
from asyncua.server.user_managers import UserManager

from gateway.core.latest import Reading
from gateway.core.source import Quality
from gateway.services.access import is_good

from .served import variant_of
from .server_certificate import ensure_certificate
from .server_settings import OpcUaServerSettings

if TYPE_CHECKING:
    from gateway.services.access import DataAccess
    from gateway.services.contract import ServedMeasure


class OpcUaServerService(Protocol):
    """What the server needs of its service (``server.OpcUaServerService``): settings, measures,
    the gateway, and where it reports its state."""

    config: OpcUaServerSettings
    measures: list[ServedMeasure]
    access: DataAccess
    state: str
    counters: dict[str, int]
    last_error: str
    space: Any

log = logging.getLogger("gateway.services.opcua")
UNITS_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
PUSH_SLICE = 200  # values written into the address space between two turns of the event loop
_ADMIN = User(role=UserRole.Admin)  # asyncua's default for its own calls
_NUMBERS = {"SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"}


class _Variable:
    """One measure's node."""

    __slots__ = ("measure", "node_id", "reading", "variant")

    def __init__(self, measure: ServedMeasure, node_id: ua.NodeId, reading: Reading) -> None:
        self.measure, self.node_id, self.reading = measure, node_id, reading
        self.variant = getattr(ua.VariantType, variant_of(measure))


class _Users(UserManager):
    """The configured users (by password) and, when allowed, anonymous clients; all may read, and
    write the Value of writable measures (never other attributes)."""

    def __init__(self, passwords: Mapping[str, str], anonymous: bool) -> None:
        self._passwords, self._anonymous = dict(passwords), anonymous

    def get_user(self, _iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is not None:
            return User(role=UserRole.User) if self._passwords.get(username) == password else None
        return User(role=UserRole.User) if self._anonymous else None  # no X509 user tokens are offered


class _WriteThrough(AttributeService):
    """asyncua's attribute service, with a measure's Value written to its PLC instead of stored."""

    def __init__(self, original: AttributeService, server: _Space) -> None:
        super().__init__(original._aspace)
        self._space = server

    async def write(self, params: ua.WriteParameters, user: User = _ADMIN) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for item in params.NodesToWrite:
            variable = self._space.variables.get(item.NodeId) if item.AttributeId == ua.AttributeIds.Value else None
            if variable is None:
                results += await super().write(ua.WriteParameters(NodesToWrite=[item]), user)
            else:
                results.append(await self._space.write_through(variable, item.Value))
        return results


class _Space:
    """The running server: its variables by NodeId, and the readings waiting to be pushed."""

    def __init__(self, service: OpcUaServerService, server: Server) -> None:
        self.service, self.server = service, server
        self.variables: dict[ua.NodeId, _Variable] = {}
        self._by_reading: dict[int, _Variable] = {}  # id(Reading): readings are updated in place, never replaced
        self._dirty: dict[int, _Variable] = {}
        self._wake = asyncio.Event()

    async def build(self, namespace: int) -> None:
        """Add Objects/<gateway>/<controller>/<measure> in one AddNodes call per level."""
        access, root = self.service.access, _node(self.service.access.gateway_name, namespace)
        controllers = list(dict.fromkeys(m.controller for m in self.service.measures))
        await self._add([_folder(root, _node(ua.ObjectIds.ObjectsFolder), access.gateway_name, namespace)])
        await self._add([_folder(_node(name, namespace), root, name, namespace) for name in controllers])
        items = []
        for measure in self.service.measures:
            node_id = _node(f"{measure.controller}.{measure.name}", namespace)
            variable = _Variable(measure, node_id, access.reading(measure.controller, measure.name))
            self.variables[node_id], self._by_reading[id(variable.reading)] = variable, variable
            items.append(_variable_item(variable, _node(measure.controller, namespace), namespace))
        await self._add(items)
        await self._add([_units_item(v, namespace) for v in self.variables.values() if v.measure.unit])
        self._dirty = dict(self._by_reading)  # every value is pushed once at start
        self._wake.set()

    async def _add(self, items: list[ua.AddNodesItem]) -> None:
        for result in await self.server.iserver.isession.add_nodes(items):
            result.StatusCode.check()

    def changed(self, readings: list[Reading]) -> None:
        """Note the readings a poll changed (called inside the poller's recording: no waiting)."""
        for reading in readings:
            variable = self._by_reading.get(id(reading))
            if variable is not None:
                self._dirty[id(reading)] = variable
        if self._dirty:
            self._wake.set()

    async def push(self) -> None:
        """Write each noted reading into the address space, until cancelled."""
        counters = self.service.counters
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, {}
            now = _time(time.time())
            for count, variable in enumerate(dirty.values(), start=1):
                await self.server.write_attribute_value(variable.node_id, _data_value(variable, now))
                if count % PUSH_SLICE == 0:
                    await asyncio.sleep(0)  # a write never waits: let polls, clients and the UI run between slices
            counters["changes"] += len(dirty)
            counters["subscriptions"] = len(self.server.iserver.subscription_service.subscriptions)

    async def write_through(self, variable: _Variable, data: ua.DataValue) -> ua.StatusCode:
        """Write a client's value to the PLC; answer Good once the PLC took it."""
        measure, service = variable.measure, self.service
        if not measure.writable:
            return _status(ua.StatusCodes.BadNotWritable)
        value = data.Value.Value if data.Value is not None else None
        if data.Value is None or data.Value.VariantType != variable.variant or value is None:
            service.counters["refused_writes"] += 1
            return _status(ua.StatusCodes.BadTypeMismatch)
        error = await service.access.write(measure.controller, measure.name, value, by="an OPC UA client")
        if error is not None:
            service.counters["refused_writes"] += 1
            service.last_error = f"write {measure.controller}.{measure.name}: {error}"
            log.warning("opcua server: a client's write of %s.%s = %r was refused: %s", measure.controller,
                        measure.name, value, error)
            return _status(ua.StatusCodes.BadDeviceFailure)
        service.counters["writes"] += 1
        return _status(ua.StatusCodes.Good)


def _folder(node_id: ua.NodeId, parent: ua.NodeId, name: str, namespace: int) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId, item.ParentNodeId = node_id, parent
    item.BrowseName = ua.QualifiedName(name, namespace)
    item.NodeClass = ua.NodeClass.Object
    item.ReferenceTypeId = _node(ua.ObjectIds.Organizes)
    item.TypeDefinition = _node(ua.ObjectIds.FolderType)
    attributes = ua.ObjectAttributes()
    attributes.DisplayName = ua.LocalizedText(name)
    item.NodeAttributes = attributes
    return item


def _variable_item(variable: _Variable, parent: ua.NodeId, namespace: int) -> ua.AddNodesItem:
    measure = variable.measure
    item = ua.AddNodesItem()
    item.RequestedNewNodeId, item.ParentNodeId = variable.node_id, parent
    item.BrowseName = ua.QualifiedName(measure.name, namespace)
    item.NodeClass = ua.NodeClass.Variable
    item.ReferenceTypeId = _node(ua.ObjectIds.Organizes)
    item.TypeDefinition = _node(ua.ObjectIds.BaseDataVariableType)
    attributes = ua.VariableAttributes()
    attributes.DisplayName = ua.LocalizedText(measure.name)
    attributes.Description = ua.LocalizedText(measure.description or measure.name)
    attributes.DataType = _node(getattr(ua.ObjectIds, variant_of(measure)))
    attributes.Value = ua.Variant(None, ua.VariantType.Null)
    attributes.ValueRank = ua.ValueRank.Scalar
    level = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if measure.writable else 0)
    attributes.AccessLevel = attributes.UserAccessLevel = level
    item.NodeAttributes = attributes
    return item


def _units_item(variable: _Variable, namespace: int) -> ua.AddNodesItem:
    """The EngineeringUnits property (a unit given as text: UnitId -1, its name as DisplayName)."""
    units = ua.EUInformation(NamespaceUri=UNITS_NAMESPACE, UnitId=-1,
                             DisplayName=ua.LocalizedText(variable.measure.unit),
                             Description=ua.LocalizedText(variable.measure.unit))
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = _node(f"{variable.node_id.Identifier!s}.EngineeringUnits", namespace)
    item.ParentNodeId = variable.node_id
    item.BrowseName = ua.QualifiedName("EngineeringUnits", 0)
    item.NodeClass = ua.NodeClass.Variable
    item.ReferenceTypeId = _node(ua.ObjectIds.HasProperty)
    item.TypeDefinition = _node(ua.ObjectIds.PropertyType)
    attributes = ua.VariableAttributes()
    attributes.DisplayName = ua.LocalizedText("EngineeringUnits")
    attributes.DataType = _node(ua.ObjectIds.EUInformation)
    attributes.Value = ua.Variant(units)
    attributes.ValueRank = ua.ValueRank.Scalar
    attributes.AccessLevel = attributes.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    item.NodeAttributes = attributes
    return item


def _data_value(variable: _Variable, now: ua.DateTime) -> ua.DataValue:
    """The reading as a DataValue: its value, status and source timestamp."""
    reading = variable.reading
    if not is_good(reading):
        status = (ua.StatusCodes.BadWaitingForInitialData if reading.timestamp == 0
                  else ua.StatusCodes.BadCommunicationError)
        return ua.DataValue(ua.Variant(None, ua.VariantType.Null), StatusCode=_status(status),
                            SourceTimestamp=_time(reading.timestamp) if reading.timestamp else None,
                            ServerTimestamp=now)
    source = reading.source
    try:
        value = ua.Variant(_python(variable, reading.value), variable.variant)
    except (TypeError, ValueError, OverflowError):
        return ua.DataValue(ua.Variant(None, ua.VariantType.Null),
                            StatusCode=_status(ua.StatusCodes.BadTypeMismatch), ServerTimestamp=now)
    status = ua.StatusCodes.UncertainLastUsableValue if source and source.quality is Quality.UNCERTAIN \
        else ua.StatusCodes.Good
    stamp = source.timestamp if source is not None and source.timestamp else reading.timestamp
    return ua.DataValue(value, StatusCode=_status(status), SourceTimestamp=_time(stamp), ServerTimestamp=now)


def _python(variable: _Variable, value: Any) -> Any:
    """The value as the Variant type wants it (an int for integer types, a float for Float)."""
    name = variable.variant.name
    convert = int if name in _NUMBERS else float if name in ("Float", "Double") else bool if name == "Boolean" else str
    if isinstance(value, list):
        return [convert(v) for v in value]
    return convert(value)


def _time(seconds: float) -> ua.DateTime:
    return cast(ua.DateTime, datetime.datetime.fromtimestamp(seconds, datetime.UTC))


# asyncua types its NodeId and StatusCode arguments with its own integer and string aliases
def _node(identifier: str | int, namespace: int = 0) -> ua.NodeId:
    return ua.NodeId(identifier, namespace)  # type: ignore[arg-type]


def _status(code: int) -> ua.StatusCode:
    return ua.StatusCode(code)  # type: ignore[arg-type]


async def serve(service: OpcUaServerService) -> None:
    """Start the server of ``service``, push the readings and stop when cancelled."""
    settings, access = service.config, service.access
    passwords = {user.username: user.password.get_secret_value() for user in settings.users}
    server = Server(user_manager=_Users(passwords, settings.allow_anonymous))
    service.state = "starting: loading the OPC UA standard address space"
    await server.init()
    application_uri = f"urn:{access.gateway_name}:edge-gateway"
    await server.set_application_uri(application_uri)
    server.set_server_name(f"{access.gateway_name} (edge gateway)")
    server.set_endpoint(f"opc.tcp://{settings.host}:{settings.port}/")
    certificate, key = await asyncio.to_thread(ensure_certificate, access.state_dir("opcua_server"),
                                               application_uri, settings.host)
    await server.load_certificate(str(certificate))
    await server.load_private_key(str(key))
    policies = [ua.SecurityPolicyType.Basic256Sha256_Sign, ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
    server.set_security_policy(([ua.SecurityPolicyType.NoSecurity] if settings.allow_unencrypted else []) + policies)
    server.set_identity_tokens(([ua.AnonymousIdentityToken] if settings.allow_anonymous else [])
                               + ([ua.UserNameIdentityToken] if settings.users else []))
    space = service.space = _Space(service, server)
    await space.build(await server.register_namespace(settings.namespace_uri))
    server.iserver.attribute_service = _WriteThrough(server.iserver.attribute_service, space)
    try:
        await server.start()
    except OSError as exc:
        service.state = f"cannot listen on {settings.host}:{settings.port}"
        raise OSError(f"opcua server: {service.state}: {exc}") from exc
    stop_watching = access.watch(space.changed)
    service.state = f"listening on opc.tcp://{settings.host}:{settings.port}"
    log.info("opcua server: listening on opc.tcp://%s:%d, %d measure(s) under Objects/%s", settings.host,
             settings.port, len(space.variables), access.gateway_name)
    try:
        await space.push()
    finally:
        stop_watching()
        service.state = "stopped"
        await server.stop()


"""The asyncua side of the OPC UA driver: one session with a server, its Reads, its subscription
and its writes, with asyncua's errors translated into the gateway's.

It is a module of its own because asyncua costs some 40 MB and seconds to import on the gateway's
ARM box: the driver imports it only when a controller connects, so a gateway (or the controller
form, which lists every protocol) without an OPC UA controller never pays for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import DataChangeEvent, OverflowPolicy, StatusChangeEvent, Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography import x509

from gateway.core.errors import ConnectError, DeviceRejected, DriverError, RequestTimeout
from gateway.southbound import BrowseEntry, DataType, Point, Quality, ReadResult, SourceStamp

from . import codec
from .addresses import check_point, parse_address
from .planning import Node, OpcUaPlan

if TYPE_CHECKING:
    from .driver import OpcUaArgs

_SESSION_GONE = ("BadSessionIdInvalid", "BadSessionClosed", "BadSecureChannelClosed", "BadSecureChannelIdInvalid",
                 "BadConnectionClosed", "BadServerHalted", "BadShutdown", "BadCommunicationError")
_SECURITY_MODES = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
_MAX_NODES = ua.NodeId(ua.Int32(ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead))


class UaSession:
    """One session with one OPC UA server (connected by :meth:`connect`, never reconnected)."""

    def __init__(self, endpoint: str, timeout: float, args: OpcUaArgs) -> None:
        self.endpoint, self.timeout, self.args = endpoint, timeout, args
        self._client: Client | None = None
        self._node_ids: dict[str, ua.NodeId | str] = {}  # by address: the NodeId, or why it has none
        self._variants: dict[str, str] = {}  # by address: the built-in type the node's value had
        self._server_max_nodes = 0  # 0: the server sets no limit
        self._namespaces: dict[str, int] = {}  # the server's namespace URIs and their indexes
        self._subscription: _Subscription | None = None

    @property
    def connected(self) -> bool:
        """Return True while the session is up (asyncua's watchdog notices a silent server)."""
        return self._client is not None and self._client.uaclient.state is UaClientState.CONNECTED

    async def connect(self) -> None:
        """Open the secure channel and the session, learn the namespaces and the read limit."""
        client = Client(self.endpoint, timeout=self.timeout, watchdog_intervall=max(1.0, 2 * self.timeout))
        try:
            await self._secure(client)
            await asyncio.wait_for(client.connect(), self.timeout * 3)
        except TimeoutError as exc:
            await _quietly_disconnect(client)
            raise ConnectError(f"no answer from {self.endpoint} in {self.timeout * 3:g} s") from exc
        except (ua.UaError, OSError, ValueError) as exc:
            await _quietly_disconnect(client)
            raise ConnectError(f"cannot connect to {self.endpoint}: {_reason(exc)}") from exc
        self._client = client
        try:
            await self._learn_server(client)
        except DriverError:
            await self.close()
            raise

    async def _secure(self, client: Client) -> None:
        args = self.args
        if args.auth == "username" and args.username and args.password:
            client.set_user(args.username)
            client.set_password(args.password.get_secret_value())
        if args.security_mode != "None" or args.auth == "certificate":
            certificate, key = _readable(args.certificate), _readable(args.private_key)
            client.application_uri = _application_uri(certificate) or client.application_uri
            if args.security_mode != "None":
                server = _readable(args.server_certificate) if args.server_certificate else None
                await asyncio.wait_for(client.set_security(
                    SecurityPolicyBasic256Sha256, str(certificate), str(key),
                    server_certificate=str(server) if server is not None else None,
                    mode=_SECURITY_MODES[args.security_mode]), self.timeout * 2)
            if args.auth == "certificate":
                await client.load_client_certificate(str(certificate))
                await client.load_private_key(key)

    async def _learn_server(self, client: Client) -> None:
        self._node_ids.clear()
        self._variants.clear()
        namespaces = await self._call(client.get_namespace_array())
        self._namespaces = {uri: index for index, uri in enumerate(namespaces)}
        try:
            limit = await self._call(client.get_node(_MAX_NODES).read_value())
            self._server_max_nodes = int(limit or 0)
        except DeviceRejected:
            self._server_max_nodes = 0  # a server without OperationLimits sets no limit

    def _node_id(self, node: Node) -> ua.NodeId | str:
        known = self._node_ids.get(node.address)
        if known is None:
            parsed = node.parsed
            index = parsed.namespace
            if index is None:
                index = self._namespaces.get(parsed.namespace_uri or "")
            if index is None:
                known = f"the server has no namespace {parsed.namespace_uri}"
            else:
                known = ua.NodeId.from_string(parsed.with_index(index))
            self._node_ids[node.address] = known
        return known

    async def read(self, plan: OpcUaPlan) -> ReadResult:
        """Read every node (poll), or take the subscription's latest values (subscribe)."""
        client = self._live_client()
        if self._server_max_nodes and plan.max_nodes > self._server_max_nodes:
            plan.fit(self._server_max_nodes)
        result = ReadResult()
        if self.args.mode == "subscribe":
            if self._subscription is None:
                self._subscription = await self._subscribe(client, plan)
            self._subscription.collect(plan, result, self._variants)
            return result
        for batch in plan.batches():
            ids = {node.address: self._node_id(node) for node in batch}
            wanted = [node for node in batch if isinstance(ids[node.address], ua.NodeId)]
            node_ids = [node_id for n in wanted if isinstance(node_id := ids[n.address], ua.NodeId)]
            values = await self._call(client.uaclient.read_attributes(node_ids, ua.AttributeIds.Value)) \
                if node_ids else []
            for node, value in zip(wanted, values, strict=True):
                record(node, value, result, self._variants)
            for node in batch:
                if isinstance(reason := ids[node.address], str):
                    fail(node, reason, result)
        return result

    async def _subscribe(self, client: Client, plan: OpcUaPlan) -> _Subscription:
        created = _Subscription(plan.nodes)
        interval_ms = self.args.publishing_interval * 1000
        subscription = await self._call(client.create_subscription(
            interval_ms, None, queue_maxsize=max(1000, 4 * len(plan.nodes)), overflow=OverflowPolicy.DROP_OLDEST))
        created.start(subscription)
        try:
            await self._monitor(subscription, created, plan)
        except BaseException:
            created.stop()  # a subscription half made is none: the next cycle makes it again
            raise
        await created.first_values(self.timeout + 2 * self.args.publishing_interval)
        return created

    async def _monitor(self, subscription: Subscription, created: _Subscription, plan: OpcUaPlan) -> None:
        """Create a monitored item per node, as many per request as a Read takes."""
        sampling_ms = (self.args.sampling_interval if self.args.sampling_interval is not None
                       else self.args.publishing_interval) * 1000
        for start in range(0, len(plan.nodes), plan.max_nodes):
            batch = list(enumerate(plan.nodes[start:start + plan.max_nodes], start))
            requests = []
            for handle, node in batch:
                node_id = self._node_id(node)
                if isinstance(node_id, str):
                    created.refused[handle] = node_id
                    continue
                requests.append(_monitored_item(node_id, handle, sampling_ms, self.args.deadband))
            results = await self._call(subscription.create_monitored_items(requests)) if requests else []
            for request, outcome in zip(requests, results, strict=True):
                if isinstance(outcome, ua.StatusCode):
                    created.refused[request.RequestedParameters.ClientHandle] = f"the server refused it: {outcome.name}"

    async def write(self, point: Point, value: Any) -> None:
        """Write one value as the node's own built-in type; the server's refusal names its status."""
        client = self._live_client()
        node = Node(point.address, check_point(point))
        node_id = self._node_id(node)
        if isinstance(node_id, str):
            raise DeviceRejected(node_id)
        variant = getattr(ua.VariantType, codec.write_variant(point, self._variants.get(point.address)))
        data = ua.DataValue(ua.Variant(value, variant))
        results = await self._call(client.uaclient.write_attributes([node_id], [data], ua.AttributeIds.Value))
        status = results[0]
        if not status.is_good():
            raise DeviceRejected(f"the server refused the write: {status.name} ({status.doc})")

    async def browse(self, address: str | None) -> list[BrowseEntry]:
        """List the children of a node (default: the Objects folder), with a measure type for each
        variable: the one matching its DataType, None when none does (a structure, say)."""
        client = self._live_client()
        if address is None:
            node_id: ua.NodeId | str = ua.NodeId(ua.Int32(ua.ObjectIds.ObjectsFolder))
        else:
            node_id = self._node_id(Node(address, parse_address(address)))
            if isinstance(node_id, str):
                raise DeviceRejected(node_id)
        children = await self._call(client.get_node(node_id).get_children_descriptions())
        variables = [child for child in children if child.NodeClass == ua.NodeClass.Variable]
        types = await self._call(client.uaclient.read_attributes([_plain(c.NodeId) for c in variables],
                                                                 ua.AttributeIds.DataType)) if variables else []
        type_of = {id(child): _measure_type(data) for child, data in zip(variables, types, strict=True)}
        return [BrowseEntry(self._lasting_address(_plain(child.NodeId)),
                            str(child.DisplayName.Text or child.BrowseName.Name),
                            child.NodeClass != ua.NodeClass.Variable, type_of.get(id(child)))
                for child in children if child.NodeClass in (ua.NodeClass.Object, ua.NodeClass.Variable)]

    def _lasting_address(self, node_id: ua.NodeId) -> str:
        """Return a NodeId's address with its namespace by URI (``nsu=``) beyond the standard ones:
        an index may change when the server restarts, its URI does not."""
        text = node_id.to_string()
        uris = {index: uri for uri, index in self._namespaces.items()}
        if node_id.NamespaceIndex >= 2 and node_id.NamespaceIndex in uris and text.startswith("ns="):
            return f"nsu={uris[node_id.NamespaceIndex]};{text.split(';', 1)[1]}"
        return text

    async def close(self) -> None:
        """End the session (bounded by the timeout); never raises."""
        client, self._client = self._client, None
        if self._subscription is not None:
            self._subscription.stop()
            self._subscription = None
        if client is not None:
            await _quietly_disconnect(client, self.timeout)

    def _live_client(self) -> Client:
        if self._client is None or not self.connected:
            raise ConnectError(f"the session with {self.endpoint} is closed")
        if self._subscription is not None and self._subscription.lost:
            raise ConnectError(f"{self.endpoint} ended the subscription: {self._subscription.lost}")
        return self._client

    async def _call(self, request: Any) -> Any:
        """Await one request, translating asyncua's errors into the gateway's."""
        try:
            return await asyncio.wait_for(request, self.timeout * 2)
        except TimeoutError as exc:
            raise RequestTimeout(f"no answer from {self.endpoint} in {self.timeout * 2:g} s") from exc
        except (ConnectionError, OSError) as exc:
            raise ConnectError(f"connection to {self.endpoint} lost: {exc}") from exc
        except ua.UaStatusCodeError as exc:
            name = ua.StatusCode(exc.code).name
            if name in _SESSION_GONE:
                raise ConnectError(f"{self.endpoint} ended the session: {name}") from exc
            raise DeviceRejected(f"the server refused the request: {name}") from exc
        except ua.UaError as exc:
            raise DeviceRejected(f"the server refused the request: {exc}") from exc


class _Subscription:
    """The monitored items of one plan and the latest value the server sent for each.

    asyncua queues what each publish brings (its iterator mode: no task per value, as its
    callback mode costs); a consumer task keeps the newest value per item and which items changed.
    A cycle takes only those (the first one takes every item, or why it has none), so its cost
    follows the changes, not the item count: an unchanged value keeps its reading, and its time.
    """

    def __init__(self, nodes: list[Node]) -> None:
        self.latest: dict[int, ua.DataValue] = {}  # by client handle: the node's index in the plan
        self.changed: set[int] = set()  # handles whose value came since the last cycle took them
        self.refused: dict[int, str] = {}
        self._taken_once = False
        self.lost = ""
        self._expected = len(nodes)
        self._complete = asyncio.Event()
        self._consumer: asyncio.Task[None] | None = None

    def start(self, subscription: Subscription) -> None:
        """Take the subscription's notifications from now on."""
        self._consumer = asyncio.create_task(self._consume(subscription), name="opcua-subscription")

    def stop(self) -> None:
        """Stop taking notifications (the session is closing)."""
        if self._consumer is not None:
            self._consumer.cancel()

    async def _consume(self, subscription: Subscription) -> None:
        latest, changed = self.latest, self.changed
        async for event in subscription:
            if isinstance(event, DataChangeEvent):
                item = event.data.monitored_item
                latest[item.ClientHandle] = item.Value
                changed.add(item.ClientHandle)
                if not self._complete.is_set() and len(latest) + len(self.refused) >= self._expected:
                    self._complete.set()
            elif isinstance(event, StatusChangeEvent):  # the server ended the subscription: reconnect
                self.lost = event.notification.Status.name

    async def first_values(self, patience: float) -> None:
        """Wait until every item has sent its first value (or ``patience`` s), so the first cycle
        after subscribing reports the values rather than "no value yet"."""
        if len(self.latest) + len(self.refused) >= self._expected:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._complete.wait(), patience)

    def collect(self, plan: OpcUaPlan, result: ReadResult, variants: dict[str, str]) -> None:
        """Put the values that came since the last cycle into ``result`` (the first cycle: every
        node's value, or why it has none)."""
        latest, changed = self.latest, self.changed
        handles = list(changed) if self._taken_once else range(len(plan.nodes))
        changed.clear()
        self._taken_once = True
        for handle in handles:
            node = plan.nodes[handle]
            value = latest.get(handle)
            if value is not None:
                record(node, value, result, variants)
            else:
                fail(node, self.refused.get(handle, "the server has sent no value yet"), result)


def record(node: Node, data: ua.DataValue, result: ReadResult, variants: dict[str, str]) -> None:
    """Put one node's DataValue into ``result`` for each measure on it."""
    status = data.StatusCode
    if status is not None and status.is_bad():
        fail(node, f"the server says {status.name}", result)
        return
    variant = data.Value.VariantType.name if data.Value is not None else "Null"
    variants[node.address] = variant
    raw = data.Value.Value if data.Value is not None else None
    stamp = data.SourceTimestamp
    source = SourceStamp(stamp.timestamp() if stamp is not None else None,
                         Quality.UNCERTAIN if status is not None and status.is_uncertain() else Quality.GOOD,
                         status.name if status is not None and not status.is_good() else "")
    for point in node.points:
        try:
            result.values[point.name] = codec.decode(point, raw, variant)
        except ValueError as exc:
            result.errors[point.name] = str(exc)
            continue
        result.sources[point.name] = source


def fail(node: Node, reason: str, result: ReadResult) -> None:
    """Mark every measure on ``node`` bad with ``reason``."""
    for point in node.points:
        result.errors[point.name] = reason


def _plain(node_id: ua.NodeId) -> ua.NodeId:
    """Return a browse result's node id as a plain NodeId (it comes as an ExpandedNodeId)."""
    return ua.NodeId(node_id.Identifier, node_id.NamespaceIndex, node_id.NodeIdType)


def _measure_type(data: ua.DataValue) -> DataType | None:
    """Return the measure type that reads a variable of the built-in type ``data`` names."""
    type_id = data.Value.Value if data.Value is not None else None
    if not isinstance(type_id, ua.NodeId) or type_id.NamespaceIndex != 0 or not isinstance(type_id.Identifier, int):
        return None
    return codec.MEASURE_OF.get(type_id.Identifier)


def _monitored_item(node_id: ua.NodeId, handle: int, sampling_ms: float, deadband: float
                    ) -> ua.MonitoredItemCreateRequest:
    parameters = ua.MonitoringParameters()
    parameters.ClientHandle = handle
    parameters.SamplingInterval = sampling_ms
    parameters.QueueSize = 1  # only the latest value matters to a cycle
    parameters.DiscardOldest = True
    if deadband:
        change = ua.DataChangeFilter()
        change.Trigger = ua.DataChangeTrigger.StatusValue
        change.DeadbandType = ua.DeadbandType.Absolute
        change.DeadbandValue = deadband
        parameters.Filter = change
    item = ua.MonitoredItemCreateRequest()
    item.ItemToMonitor = ua.ReadValueId(NodeId=node_id, AttributeId=ua.AttributeIds.Value)
    item.MonitoringMode = ua.MonitoringMode.Reporting
    item.RequestedParameters = parameters
    return item


def _readable(path: str | None) -> Path:
    """Return ``path`` as a file that exists, else raise ConnectError naming it."""
    if not path or not Path(path).is_file():
        raise ConnectError(f"cannot read the file '{path}' (certificate or key)")
    return Path(path)


def _application_uri(certificate: Path) -> str | None:
    """Return the application URI in the certificate's subject alternative names: asyncua checks
    that our application URI is the certificate's, as servers do."""
    data = certificate.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ua.UaStatusCodeError):
        return ua.StatusCode(exc.code).name
    return str(exc) or type(exc).__name__


async def _quietly_disconnect(client: Client, patience: float = 2.0) -> None:
    try:
        await asyncio.wait_for(client.disconnect(), patience)
    except Exception:  # noqa: BLE001 - closing never fails: the session may already be gone
        with contextlib.suppress(Exception):
            client.disconnect_socket()

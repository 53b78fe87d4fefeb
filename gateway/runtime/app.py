"""Wire the components of a configuration together and own their lifecycle.

Components start in a TaskGroup with named tasks (outbox flusher, pollers, subscribe
dispatcher, connectors, uploaders), each under a supervisor (:mod:`gateway.runtime.supervisor`) so that a
part's fault restarts that part rather than cancelling the group, and stop in reverse order, so
producers stop before the outbox closes; the outbox then deletes what was acknowledged and
checkpoints its WAL.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import zlib
from collections.abc import Callable, Collection, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from gateway.alarms import AlarmEngine
from gateway.cloud import CloudConnector, IotgoConnector, MqttConnector
from gateway.cloud.iotgo_updates import IotgoUpdates
from gateway.cloud.mqtt import OnMessage
from gateway.cloud.shadow import ShadowSync
from gateway.collect import ControllerPoller
from gateway.collect.assembly import build_pollers
from gateway.collect.writes import PlcWriter
from gateway.config import Cloud, Controller, LoadedConfig
from gateway.config.identity import gateway_variables, global_parameters, render_topic, serial_number
from gateway.config.references import device_measures, served_measures
from gateway.config.schema import GatewayConfig
from gateway.core.audit import AuditTrail
from gateway.core.errors import CloudError, GatewayError
from gateway.core.latest import LatestValues
from gateway.rules.functions import FunctionScheduler
from gateway.rules.in_flight import CallsInFlight
from gateway.rules.outcomes import WriteApplier
from gateway.rules.publisher import RulePublisher
from gateway.rules.subscriptions import SubscriptionDispatcher
from gateway.rules.tag_config import tag_config
from gateway.rules.uploader import GroupUploader, recalled_values
from gateway.runtime.script_logs import ScriptLogs
from gateway.runtime.script_services import ScriptServices
from gateway.runtime.status import GatewayStatus, LiveData, read_status
from gateway.runtime.supervisor import Part, supervised
from gateway.scripting import ScriptRunner
from gateway.scripting.loading import load_rule_scripts
from gateway.services.access import DataAccess
from gateway.services.contract import DataService
from gateway.services.registry import service_for
from gateway.southbound import driver_for
from gateway.store import Outbox
from gateway.store.alarm_log import AlarmLog
from gateway.store.history import HistoryStore
from gateway.store.history_recorder import HistoryRecorder

log = logging.getLogger("gateway")

STOP_GRACE = 1.0
# edits config.yaml's parsed document; saved, validated and run as a change from the UI
ChangeConfig = Callable[[Callable[[Any], None]], Coroutine[Any, Any, None]]


class Gateway:
    """A running gateway for one validated configuration."""

    def __init__(self, config: LoadedConfig, *, script_logs: ScriptLogs | None = None,
                 change_config: ChangeConfig | None = None, audit: AuditTrail | None = None) -> None:
        """``script_logs`` outlive this gateway when given (the service's); else it keeps its own.
        ``change_config`` saves and runs a configuration edit a script asked for (the service's
        change, as the UI's); without it scripts cannot change the configuration. PLC writes go
        into ``audit`` when given."""
        self.config = config
        self.audit = audit
        self.change_config = change_config
        self.latest = LatestValues()
        self.connectors: dict[str, CloudConnector] = {}
        self.pollers: list[ControllerPoller] = []
        self.outbox: Outbox | None = None
        self.history: HistoryStore | None = None  # open while running, when a group keeps history
        self.alarm_log: AlarmLog | None = None  # open while running
        self.alarms: AlarmEngine | None = None
        self._stop_requested = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._group: asyncio.TaskGroup | None = None  # while running: where a replaced poller starts
        self.part_failures: dict[str, str] = {}  # the last error of each part that failed and restarted
        self.uploaders: dict[str, GroupUploader] = {}  # by group, while running
        self.script_calls = CallsInFlight()  # what a script's configuration change waits for
        self.script_services = ScriptServices(self)
        self.runner = ScriptRunner(send_now=self._send_now,
                                   queries={"values": lambda _args: self._recall(),
                                            "tag_config": lambda _args: self._tag_config(),
                                            "statistics": self._statistics, **self.script_services.answers()})
        load_rule_scripts(config, self.runner)
        self._owns_script_logs = script_logs is None
        self.script_logs = script_logs or ScriptLogs(self.data_dir / "logs" / "scripts")
        self.plc_writer: PlcWriter | None = None  # set when the pollers exist; the UI writes through it
        self.services: list[DataService] = []  # the data services (Modbus slave, ...), while running

    @property
    def data_dir(self) -> Any:
        """Return where this gateway keeps its state."""
        return self.config.resolve(self.config.model.gateway.data_dir)

    def status(self) -> GatewayStatus:
        """Return what the gateway's parts say now, as frozen data for the UI and ``/metrics``."""
        return read_status(self.config.model.gateway.name, self.pollers, self.connectors, self.outbox, self.runner,
                           self.part_failures, len(self.alarms.active) if self.alarms is not None else 0,
                           self.services)

    def live_data(self) -> LiveData:
        """Return the configuration, latest values and stores that pages read."""
        return LiveData(self.config, self.latest, self.history, self.alarm_log)

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop its components and return."""
        self._stop_requested.set()

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Run until cancelled or :meth:`request_stop`; always stops cleanly."""
        model = self.config.model
        cache = model.cache
        self.outbox = await Outbox.open(self.data_dir / "outbox.db", cache.max_messages,
                                        int(cache.max_mb * 1024 * 1024), cache.durability)
        try:
            if self._owns_script_logs:
                self.script_logs.attach()
            if any(g.history for g in model.groups):
                self.history = await HistoryStore.open(self.data_dir / "history.db")
            self.alarm_log = await AlarmLog.open(self.data_dir / "alarms.db", cache.max_alarm_records)
            async with asyncio.TaskGroup() as group:
                self._group = group
                for name, part in self._components(self.outbox):
                    self._tasks.append(group.create_task(self._supervised(name, part), name=name))
                if started is not None:
                    started.set()
                try:
                    with frozen_heap():
                        await self._stop_requested.wait()
                finally:
                    self._group = None
                    await self._stop_in_reverse()
        finally:
            await self.runner.close()
            await self.script_services.close()
            if self._owns_script_logs:
                self.script_logs.close()
            if self.history is not None:
                await self.history.close()
            if self.alarm_log is not None:
                await self.alarm_log.close()
            await self.outbox.close()
            log.info("stopped; %d message(s) wait in the outbox", self.outbox.depth)

    def _supervised(self, name: str, part: Part) -> Coroutine[Any, Any, None]:
        return supervised(name, part, failures=self.part_failures)

    def _components(self, outbox: Outbox) -> list[tuple[str, Part]]:
        """Build every component, in start order: stores, pollers, clouds, uploaders; each is how
        to start that part (again, after it failed)."""
        model = self.config.model
        components: list[tuple[str, Part]] = [("outbox-acks", outbox.run_ack_flusher)]
        self.pollers = build_pollers(model, self.latest)
        components += [(f"poll:{poller.name}", _polling(poller)) for poller in self.pollers]
        self.plc_writer = PlcWriter(self.pollers, self.audit)
        self.services = _services(model, DataAccess(self.latest, self.plc_writer, model.gateway.name, self.data_dir))
        components += [(f"service:{service.name}", service.run) for service in self.services]
        writes = WriteApplier(self.runner, outbox, self.plc_writer, self.script_calls)
        variables, parameters = gateway_variables(model), global_parameters(model)
        dispatcher = SubscriptionDispatcher(self.config, self.runner, writes, variables, parameters)
        if model.subscribe or any(f.mode == "message" for f in model.functions):
            components.append(("subscribe", dispatcher.run))
        for cloud in model.clouds:
            if cloud.type == "iotgo":
                components += self._iotgo(cloud, outbox)
                continue
            if cloud.type == "sparkplug":
                components += self._sparkplug(cloud, outbox)
                continue
            shadow = self._shadow(cloud, writes, outbox)
            subscriptions = dispatcher.subscriptions(cloud.name) + (shadow.subscriptions() if shadow else [])
            template_parameters = {k: render_topic(v, variables) for k, v in
                                   (cloud.provisioning.parameters if cloud.provisioning else {}).items()}
            connector = MqttConnector(
                cloud, outbox, self.config.resolve, f"{model.gateway.name}-{serial_number()}",
                subscriptions=subscriptions, on_message=_router(dispatcher, shadow), cloud_drain=model.cache.drain,
                on_connected=shadow.connected if shadow else None, state_dir=self.data_dir,
                provisioning_parameters=template_parameters)
            self.connectors[cloud.name] = connector
            if shadow is not None:
                components.append((f"shadow:{cloud.name}", shadow.run))
            components.append((f"cloud:{cloud.name}", connector.run))
        for function in (f for f in model.functions if f.mode != "message"):  # the dispatcher calls those
            scheduler = FunctionScheduler(function, self.config, self.runner, writes, parameters)
            components.append((f"function:{function.name}", scheduler.run))
        publisher = RulePublisher(self.config, self.runner, outbox, writes, variables, parameters)
        if self.alarm_log is not None:
            self.alarms = AlarmEngine(model.alarms, model.measures, self.latest, self.alarm_log,
                                      publisher.deliver_alarm)
            components.append(("alarms", self.alarms.run))
        for group in model.groups:
            measures = [m for m in model.measures if m.group == group.name]
            if group.history and measures and self.history is not None:
                recorder = HistoryRecorder(group, measures, self.latest, self.history)
                components.append((f"history:{group.name}", recorder.run))
            if not measures or not publisher.has_rules(group.name):
                log.info("group %s: %s, nothing to upload", group.name,
                         "no measures" if not measures else "no publish rule")
                continue
            uploader = GroupUploader(group, measures, self.latest, publisher.deliver_group)
            self.uploaders[group.name] = uploader
            components.append((f"upload:{group.name}", uploader.run))
        return components

    async def replace_controllers(self, config: LoadedConfig, names: Collection[str]) -> None:
        """Run ``config``, which differs from the running one only in the settings of the
        controllers ``names``: their pollers restart with the new settings, everything else keeps
        running (the other controllers are not stopped, and their values stay fresh).

        Raise GatewayError, with nothing changed, when a new poller cannot be built or the change
        needs the whole gateway (a controller on a serial port shares the line with others)."""
        group = self._group
        if group is None or self._stop_requested.is_set():
            raise GatewayError("the gateway is not running")
        if any(_on_serial_port(c) for c in [*self.config.model.controllers, *config.model.controllers]
               if c.name in names):
            raise GatewayError("a controller on a serial port restarts with the whole gateway")
        try:
            replacements = build_pollers(config.model, self.latest, controllers=names)
        except Exception as exc:
            raise GatewayError(f"the new controller settings cannot be used: {exc}") from exc
        self.config = config
        for poller in replacements:
            await self._swap_poller(group, poller)
        log.info("controller(s) %s restarted with new settings; the others kept polling", ", ".join(names))

    async def _swap_poller(self, group: asyncio.TaskGroup, poller: ControllerPoller) -> None:
        name = f"poll:{poller.name}"
        old = next((t for t in self._tasks if t.get_name() == name and not t.done()), None)
        if old is not None:
            old.cancel()
            await asyncio.wait({old}, timeout=STOP_GRACE)
        names = [p.name for p in self.pollers]
        if poller.name in names:
            self.pollers[names.index(poller.name)] = poller
        else:
            self.pollers.append(poller)
        if self.plc_writer is not None:
            self.plc_writer.use(poller)
        task = group.create_task(self._supervised(name, poller.run), name=name)  # at once: the others are spread
        self._tasks = [task if t is old else t for t in self._tasks] if old is not None else [*self._tasks, task]

    def _iotgo(self, cloud: Cloud, outbox: Outbox) -> list[tuple[str, Part]]:
        """The connector of an IoTgo cloud and the component that queues its devices' updates."""
        devices = {d.deviceid: device_measures(d, self.config.model)[0] for d in cloud.devices}
        writer = self.plc_writer
        assert writer is not None
        updates = IotgoUpdates(cloud, devices, self.latest, outbox)
        connector = IotgoConnector(cloud, outbox, devices, writer.on_behalf_of(f"cloud {cloud.name}").apply,
                                   current=updates.params, state_dir=self.data_dir)
        self.connectors[cloud.name] = connector
        return [(f"cloud:{cloud.name}", connector.run), (f"iotgo-updates:{cloud.name}", updates.run)]

    def _sparkplug(self, cloud: Cloud, outbox: Outbox) -> list[tuple[str, Part]]:
        """The edge node of a Sparkplug cloud and its connector (whose will, births and sequence
        numbers the node makes)."""
        from gateway.cloud.sparkplug import SparkplugNode  # protobuf: 3 MB of memory only a Sparkplug cloud needs

        model, writer = self.config.model, self.plc_writer
        assert cloud.sparkplug is not None and writer is not None
        chosen = set(cloud.sparkplug.groups)
        measures = [(served, measure.deadband) for measure, served in zip(model.measures, served_measures(model),
                                                                          strict=True)
                    if not chosen or measure.group in chosen]
        node = SparkplugNode(cloud, cloud.sparkplug.edge_node_id or model.gateway.name, measures, self.latest,
                             writer.on_behalf_of(f"cloud {cloud.name} (Sparkplug command)"), outbox, self.data_dir)
        connector = MqttConnector(cloud, outbox, self.config.resolve, f"{model.gateway.name}-{serial_number()}",
                                  subscriptions=node.subscriptions(), on_message=node.on_message,
                                  on_connected=node.connected, state_dir=self.data_dir, will=node.will,
                                  prepare=node.prepare)
        node.attach(connector)
        self.connectors[cloud.name] = connector
        # the node stops first (components stop in reverse), while the connection is up for its NDEATH
        return [(f"cloud:{cloud.name}", connector.run), (f"sparkplug:{cloud.name}", node.run)]

    def _shadow(self, cloud: Cloud, writes: WriteApplier, outbox: Outbox) -> ShadowSync | None:
        if cloud.shadow is None or not cloud.shadow_enabled:
            return None
        measures = self.config.model.measures
        chosen = [m for m in measures if m.group == cloud.shadow.group or m.name in cloud.shadow.measures]
        return ShadowSync(cloud, chosen, self.latest, writes.writer.on_behalf_of(f"cloud {cloud.name} (shadow)"),
                          outbox)

    async def _stop_in_reverse(self) -> None:
        """Cancel components last-started first, all within one shared grace period."""
        deadline = asyncio.get_running_loop().time() + STOP_GRACE
        for task in reversed(self._tasks):
            task.cancel()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining > 0:
                await asyncio.wait({task}, timeout=remaining)

    def _recall(self) -> dict[str, Any]:
        """Return the latest value of every measure, shaped like data_collect (for recall_data)."""
        return recalled_values(self.config.model.measures, self.latest)

    async def _statistics(self, args: dict[str, Any]) -> dict[str, Any]:
        """Return a measure's statistics for get_statistics (empty without history or measure)."""
        measure, controller = str(args.get("measure", "")), args.get("controller")
        owners = [m.controller for m in self.config.model.measures
                  if m.name == measure and controller in (None, m.controller)]
        if self.history is None or len(owners) != 1:
            return {}
        return await self.history.statistics(owners[0], measure)

    def _tag_config(self) -> dict[str, Any]:
        """Return the configuration for get_tag_config."""
        return tag_config(self.config.model)

    def _send_now(self, cloud: str, topic: str, payload: bytes, qos: int) -> bool:
        connector = self.connectors.get(cloud)
        if connector is None:
            raise CloudError(f"unknown cloud '{cloud}'")
        return connector.send_now(topic, payload, qos)



def _polling(poller: ControllerPoller) -> Part:
    """The poller's run, started a fraction of its period apart from the others by its name, so
    that controllers do not all poll at the same instant."""
    controller = poller.controller
    stagger = (zlib.crc32(controller.name.encode()) % 1000) / 1000 * min(controller.sample_period, 1.0)
    return functools.partial(poller.run, start_delay=stagger)


def _on_serial_port(controller: Controller) -> bool:
    return driver_for(controller.protocol).uses_serial_port


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what start-up built (configuration, plans, readings: millions of objects at 100,000
    tags) out of the cyclic garbage collector while the gateway runs, so that each collection
    looks only at what the cycles allocate; let it go again when the gateway stops."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _router(dispatcher: SubscriptionDispatcher, shadow: ShadowSync | None) -> OnMessage:
    """Send a cloud's messages to its shadow or to the subscribe rules."""
    def route(cloud: str, topic: str, payload: bytes) -> None:
        if shadow is not None and shadow.owns(topic):
            shadow.receive(topic, payload)
        else:
            dispatcher.receive(cloud, topic, payload)
    return route


def _services(model: GatewayConfig, access: DataAccess) -> list[DataService]:
    """Build the enabled data services (their settings were checked when the configuration loaded)."""
    measures = served_measures(model)
    built = []
    for key, raw in model.services.items():
        service = service_for(key)
        settings = service.settings_model.model_validate(raw)
        if settings.enabled:
            built.append(service(settings, measures, access))
    return built

"""What the running gateway says about itself, as plain frozen data.

The admin UI, ``/metrics`` and the health check read this and nothing else of the running parts:
a poller, connector or script runner can change how it keeps its state without touching a page,
and a page can never change that state by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gateway.cloud import CloudConnector
from gateway.collect import ControllerPoller
from gateway.config import LoadedConfig
from gateway.core.latest import LatestValues
from gateway.scripting import ScriptRunner
from gateway.services.contract import DataService
from gateway.store import Outbox
from gateway.store.alarm_log import AlarmLog
from gateway.store.history import HistoryStore


@dataclass(frozen=True, slots=True)
class ControllerStatus:
    """One PLC: how its reads go."""

    name: str
    protocol: str
    endpoint: str
    measures: int
    healthy: bool | None  # None until the first read cycle ends
    degraded: bool  # failing for a while: polled with growing pauses
    last_error: str
    last_success: float  # time.time(), 0 when never
    cycles: int
    failed_cycles: int
    read_seconds: float  # spent in read cycles since start


@dataclass(frozen=True, slots=True)
class CloudStatus:
    """One cloud connection."""

    name: str
    type: str
    host: str
    connected: bool
    last_error: str  # kept after a reconnect
    since: float  # connected since (time.time()), 0 when never
    delivered: int
    connection_failures: int
    dropped: int = 0  # messages that could never be sent
    waiting: tuple[str, ...] = ()  # "what: why", e.g. an IoTgo device not yet registered


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """The store-and-forward queue."""

    depth: int
    evicted: int


@dataclass(frozen=True, slots=True)
class ScriptStatus:
    """One loaded script."""

    name: str
    problem: str | None  # why it is paused, or why it could not be loaded
    resumes_at: float | None  # set while it is paused: when it is called again (time.time())
    bad_messages: int  # subscribe messages that failed the script
    calls: int
    failed_calls: int
    timeouts: int


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """Everything above, read at one moment."""

    name: str
    controllers: tuple[ControllerStatus, ...]
    clouds: tuple[CloudStatus, ...]
    outbox: OutboxStatus | None  # None until the outbox is open
    scripts: Mapping[str, ScriptStatus]  # by script name, in load order
    failed_parts: Mapping[str, str]  # the last error of each part that failed and was restarted
    alarms_active: int
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))  # state, counters


def read_status(name: str, pollers: Iterable[ControllerPoller], connectors: Mapping[str, CloudConnector],
                outbox: Outbox | None, runner: ScriptRunner, failed_parts: Mapping[str, str],
                alarms_active: int, services: Iterable[DataService] = ()) -> GatewayStatus:
    """Copy the running parts' state into a :class:`GatewayStatus`."""
    return GatewayStatus(
        name=name,
        controllers=tuple(_controller(poller) for poller in pollers),
        clouds=tuple(_cloud(cloud_name, connector) for cloud_name, connector in connectors.items()),
        outbox=OutboxStatus(outbox.depth, outbox.evicted) if outbox is not None else None,
        scripts=MappingProxyType({script: _script(runner, script) for script in runner.script_names}),
        failed_parts=MappingProxyType(dict(failed_parts)),
        alarms_active=alarms_active,
        services=MappingProxyType({service.name: MappingProxyType(dict(service.status())) for service in services}),
    )


def _controller(poller: ControllerPoller) -> ControllerStatus:
    health, controller = poller.health, poller.controller
    return ControllerStatus(
        name=poller.name, protocol=controller.protocol, endpoint=controller.endpoint, measures=len(poller.measures),
        healthy=health.healthy, degraded=health.degraded, last_error=health.last_error,
        last_success=health.last_success, cycles=health.cycles, failed_cycles=health.failures_total,
        read_seconds=health.read_seconds_total)


def _cloud(name: str, connector: CloudConnector) -> CloudStatus:
    state, cloud = connector.state, connector.cloud
    return CloudStatus(name=name, type=cloud.type, host=cloud.host, connected=state.connected,
                       last_error=state.last_error, since=state.since, delivered=state.delivered,
                       connection_failures=state.failures, dropped=state.dropped,
                       waiting=tuple(f"{what}: {why}" for what, why in state.waiting.items()))


def _script(runner: ScriptRunner, name: str) -> ScriptStatus:
    return ScriptStatus(
        name=name, problem=runner.faulted.get(name) or runner.load_error(name),
        resumes_at=runner.resumes_at.get(name) if name in runner.faulted else None,
        bad_messages=runner.input_errors.get(name, 0), calls=runner.calls[name], failed_calls=runner.call_errors[name],
        timeouts=runner.timeouts[name])


@dataclass(frozen=True, slots=True)
class LiveData:
    """What pages read of the running gateway besides its status: the configuration it runs, its
    latest values and its history and alarm stores (queried, never written, by the UI)."""

    config: LoadedConfig
    latest: LatestValues
    history: HistoryStore | None  # None when no group keeps history
    alarm_log: AlarmLog | None  # None until it is open

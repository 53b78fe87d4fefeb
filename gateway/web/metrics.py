"""``/metrics`` in Prometheus' text format, read from the running gateway at each scrape.

A scraper authenticates with ``Authorization: Bearer <gateway.web.metrics_token>``; without a
configured token only a logged-in browser session may read it. Counters start again from zero
when the gateway restarts on a new configuration, which Prometheus treats as a counter reset.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from .backend import AdminBackend
from .context import SESSIONS, backend_of
from .security import COOKIE


class GatewayCollector(Collector):
    """Yields the gateway's metrics from its status at each scrape."""

    def __init__(self, backend: AdminBackend) -> None:
        self._backend = backend

    def collect(self) -> Iterator[Metric]:
        now = self._backend.status()
        up = GaugeMetricFamily("gateway_up", "1 while the gateway runs (0 while it restarts)")
        up.add_metric([], 1 if now is not None else 0)
        yield up
        if now is None:
            return
        reads = CounterMetricFamily("gateway_controller_reads", "Read cycles per controller", labels=["controller"])
        errors = CounterMetricFamily("gateway_controller_read_errors", "Failed read cycles", labels=["controller"])
        latency = SummaryMetricFamily("gateway_controller_read_seconds", "Time spent in read cycles",
                                      labels=["controller"])
        healthy = GaugeMetricFamily("gateway_controller_healthy", "1 when the last read cycle succeeded",
                                    labels=["controller"])
        for controller in now.controllers:
            label = [controller.name]
            reads.add_metric(label, controller.cycles)
            errors.add_metric(label, controller.failed_cycles)
            latency.add_metric(label, count_value=controller.cycles, sum_value=controller.read_seconds)
            healthy.add_metric(label, 1 if controller.healthy else 0)
        yield from (reads, errors, latency, healthy)
        if now.outbox is not None:
            depth = GaugeMetricFamily("gateway_outbox_depth", "Messages waiting in the outbox")
            depth.add_metric([], now.outbox.depth)
            evicted = CounterMetricFamily("gateway_outbox_evicted", "Messages evicted because the outbox was full")
            evicted.add_metric([], now.outbox.evicted)
            yield from (depth, evicted)
        published = CounterMetricFamily("gateway_cloud_published", "Messages acknowledged by the cloud",
                                        labels=["cloud"])
        failures = CounterMetricFamily("gateway_cloud_connection_failures", "Failed or lost connections",
                                       labels=["cloud"])
        connected = GaugeMetricFamily("gateway_cloud_connected", "1 while connected", labels=["cloud"])
        dropped = CounterMetricFamily("gateway_cloud_dropped", "Messages that could never be sent, logged and "
                                      "not resent (IoTgo: params the server refuses as they are)", labels=["cloud"])
        waiting = GaugeMetricFamily("gateway_cloud_waiting", "Devices whose messages wait though the cloud may be "
                                    "connected (IoTgo: not registered, key refused)", labels=["cloud"])
        for cloud in now.clouds:
            published.add_metric([cloud.name], cloud.delivered)
            failures.add_metric([cloud.name], cloud.connection_failures)
            connected.add_metric([cloud.name], 1 if cloud.connected else 0)
            dropped.add_metric([cloud.name], cloud.dropped)
            waiting.add_metric([cloud.name], len(cloud.waiting))
        yield from (published, failures, connected, dropped, waiting)
        calls = CounterMetricFamily("gateway_script_calls", "Script calls", labels=["script"])
        failed = CounterMetricFamily("gateway_script_call_errors", "Script calls that failed", labels=["script"])
        timeouts = CounterMetricFamily("gateway_script_timeouts", "Script calls killed at their timeout",
                                       labels=["script"])
        faulted = GaugeMetricFamily("gateway_script_faulted", "1 while a script is paused", labels=["script"])
        for script in now.scripts.values():
            calls.add_metric([script.name], script.calls)
            failed.add_metric([script.name], script.failed_calls)
            timeouts.add_metric([script.name], script.timeouts)
            faulted.add_metric([script.name], 1 if script.resumes_at is not None else 0)
        yield from (calls, failed, timeouts, faulted)
        active = GaugeMetricFamily("gateway_alarms_active", "Alarms active now")
        active.add_metric([], now.alarms_active)
        yield active
        yield from _service_metrics(now.services)


def _service_metrics(services: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    """The data services' state and counters (each reports the same names)."""
    serving = GaugeMetricFamily("gateway_service_listening", "1 while a data service listens", labels=["service"])
    clients = GaugeMetricFamily("gateway_service_clients", "Clients (subscriptions for OPC UA) served now",
                                labels=["service"])
    counters = {name: CounterMetricFamily(f"gateway_service_{name}", text, labels=["service"]) for name, text in
                [("requests", "Requests answered (value changes pushed, for OPC UA)"),
                 ("writes", "Client writes made on the PLC"),
                 ("exceptions", "Requests refused or failed")]}
    for name, state in services.items():
        serving.add_metric([name], 1 if str(state.get("state", "")).startswith("listening") else 0)
        clients.add_metric([name], state.get("clients", 0))
        for key, family in counters.items():
            family.add_metric([name], state.get(key, 0))
    yield from (serving, clients, *counters.values())


def metrics_registry(backend: AdminBackend) -> CollectorRegistry:
    """Return a registry holding only the gateway's collector (not the process-wide default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(backend))
    return registry


def metrics_handler(registry: CollectorRegistry) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Return the handler of ``/metrics``."""
    async def metrics(request: web.Request) -> web.Response:
        if not _allowed(request):
            return web.json_response({"error": "log in, or send Authorization: Bearer <gateway.web.metrics_token>"},
                                     status=401)
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
    return metrics


def _allowed(request: web.Request) -> bool:
    token = backend_of(request).config.model.gateway.web.metrics_token
    sent = request.headers.get("Authorization", "")
    if token is not None and sent.startswith("Bearer "):
        return hmac.compare_digest(sent.removeprefix("Bearer ").encode(), token.get_secret_value().encode())
    return request.app[SESSIONS].get(request.cookies.get(COOKIE)) is not None

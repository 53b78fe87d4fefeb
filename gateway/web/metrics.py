"""``/metrics`` in Prometheus' text format, read from the running gateway at each scrape.

A scraper authenticates with ``Authorization: Bearer <gateway.web.metrics_token>``; without a
configured token only a logged-in browser session may read it. Counters start again from zero
when the gateway restarts on a new configuration, which Prometheus treats as a counter reset.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from .context import SESSIONS, service_of
from .security import COOKIE

if TYPE_CHECKING:
    from gateway.runtime.service import GatewayService


class GatewayCollector(Collector):
    """Yields the gateway's metrics from its current state."""

    def __init__(self, service: GatewayService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        gateway = self._service.gateway
        up = GaugeMetricFamily("gateway_up", "1 while the gateway runs (0 while it restarts)")
        up.add_metric([], 1 if gateway is not None else 0)
        yield up
        if gateway is None:
            return
        reads = CounterMetricFamily("gateway_controller_reads", "Read cycles per controller", labels=["controller"])
        errors = CounterMetricFamily("gateway_controller_read_errors", "Failed read cycles", labels=["controller"])
        latency = SummaryMetricFamily("gateway_controller_read_seconds", "Time spent in read cycles",
                                      labels=["controller"])
        healthy = GaugeMetricFamily("gateway_controller_healthy", "1 when the last read cycle succeeded",
                                    labels=["controller"])
        for poller in gateway.pollers:
            health, controller = poller.health, [poller.name]
            reads.add_metric(controller, health.cycles)
            errors.add_metric(controller, health.failures_total)
            latency.add_metric(controller, count_value=health.cycles, sum_value=health.read_seconds_total)
            healthy.add_metric(controller, 1 if health.healthy else 0)
        yield from (reads, errors, latency, healthy)
        if gateway.outbox is not None:
            depth = GaugeMetricFamily("gateway_outbox_depth", "Messages waiting in the outbox")
            depth.add_metric([], gateway.outbox.depth)
            evicted = CounterMetricFamily("gateway_outbox_evicted", "Messages evicted because the outbox was full")
            evicted.add_metric([], gateway.outbox.evicted)
            yield from (depth, evicted)
        published = CounterMetricFamily("gateway_cloud_published", "Messages acknowledged by the cloud",
                                        labels=["cloud"])
        failures = CounterMetricFamily("gateway_cloud_connection_failures", "Failed or lost connections",
                                       labels=["cloud"])
        connected = GaugeMetricFamily("gateway_cloud_connected", "1 while connected", labels=["cloud"])
        for name, connector in gateway.connectors.items():
            published.add_metric([name], connector.state.delivered)
            failures.add_metric([name], connector.state.failures)
            connected.add_metric([name], 1 if connector.state.connected else 0)
        yield from (published, failures, connected)
        runner = gateway.runner
        calls = CounterMetricFamily("gateway_script_calls", "Script calls", labels=["script"])
        failed = CounterMetricFamily("gateway_script_call_errors", "Script calls that failed", labels=["script"])
        timeouts = CounterMetricFamily("gateway_script_timeouts", "Script calls killed at their timeout",
                                       labels=["script"])
        faulted = GaugeMetricFamily("gateway_script_faulted", "1 while a script is paused", labels=["script"])
        for script in runner.script_names:
            calls.add_metric([script], runner.calls[script])
            failed.add_metric([script], runner.call_errors[script])
            timeouts.add_metric([script], runner.timeouts[script])
            faulted.add_metric([script], 1 if script in runner.faulted else 0)
        yield from (calls, failed, timeouts, faulted)
        active = GaugeMetricFamily("gateway_alarms_active", "Alarms active now")
        active.add_metric([], len(gateway.alarms.active) if gateway.alarms is not None else 0)
        yield active


def metrics_registry(service: GatewayService) -> CollectorRegistry:
    """Return a registry holding only the gateway's collector (not the process-wide default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(service))
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
    token = service_of(request).config.model.gateway.web.metrics_token
    sent = request.headers.get("Authorization", "")
    if token is not None and sent.startswith("Bearer "):
        return hmac.compare_digest(sent.removeprefix("Bearer ").encode(), token.get_secret_value().encode())
    return request.app[SESSIONS].get(request.cookies.get(COOKIE)) is not None

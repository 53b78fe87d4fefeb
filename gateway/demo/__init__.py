"""``gateway demo``: the gateway with simulated PLCs and a local broker, ready to watch."""

from __future__ import annotations

import asyncio
import logging

from gateway.config import LoadedConfig

from .broker import MosquittoBroker, port_is_open
from .plcs import LOOPBACK, simulators_for

log = logging.getLogger("gateway.demo")


async def run_demo(config: LoadedConfig, duration: float | None = None) -> None:
    """Start simulators and a broker for ``config``, then run the gateway until stopped."""
    from gateway.runtime.service import GatewayService
    from gateway.web import serve_admin_ui

    gateway = GatewayService(config, front_end=serve_admin_ui)
    servers = simulators_for(config)
    brokers: list[MosquittoBroker] = []
    try:
        for label, server in list(servers):
            try:
                await server.start()
            except (OSError, RuntimeError) as exc:  # e.g. its port is taken: the gateway still runs, and says so
                log.error("simulated PLC %s could not start: %s", label, exc)
                servers.remove((label, server))
                continue
            log.info("simulated PLC %s started", label)
        for cloud in config.model.clouds:
            if cloud.type in ("mqtt", "sparkplug") and cloud.host in LOOPBACK and not cloud.uses_tls:
                port = cloud.effective_port
                if port_is_open("127.0.0.1", port):
                    log.info("a broker already listens on 127.0.0.1:%d; using it", port)
                    continue
                broker = MosquittoBroker(port, own_session=True)
                await asyncio.to_thread(broker.start)
                brokers.append(broker)
                log.info("mosquitto broker started on 127.0.0.1:%d", port)
                log.info("watch the messages with: mosquitto_sub -h 127.0.0.1 -p %d -t '#' -v", port)
        model = config.model
        for controller in model.controllers:
            count = sum(1 for m in model.measures if m.controller == controller.name)
            log.info("polling %s (%s at %s) every %g s: %d measure(s)", controller.name, controller.protocol,
                     controller.endpoint, controller.sample_period, count)
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, gateway.request_stop)
        await gateway.run()
    finally:
        for label, server in servers:
            try:
                await server.stop()
            except Exception:  # one simulator failing to stop must not leave the others running
                log.exception("simulated PLC %s did not stop cleanly", label)
        for broker in brokers:
            await asyncio.to_thread(broker.close)

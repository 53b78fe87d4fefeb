"""Broker down for a while, then up: every message reaches the subscriber, in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.demo.broker import MosquittoBroker
from tests.conftest import Subscriber, restartable_port
from tests.integration.gateway_harness import running_gateway, script_rule, simulated_gateway, write_config
from tests.waiting import until

SEQUENCE_SCRIPT = """
state = {"n": 0}


def main(data_collect, wizard_api):
    state["n"] = state["n"] + 1
    wizard_api.awsiot_publish("seq/test", {"n": state["n"]}, 1)
"""


@pytest.fixture
def persistent_broker() -> Any:
    """A broker that keeps sessions across a restart, so the subscriber misses nothing itself."""
    broker = MosquittoBroker(restartable_port(), persistent=True)
    broker.start()
    yield broker
    broker.close()


def _drain(subscriber: Subscriber, into: list[int]) -> None:
    into += [json.loads(message.payload)["n"] for message in subscriber.drain()]


async def test_outage_loses_nothing_and_keeps_order(tmp_path: Path, persistent_broker: MosquittoBroker) -> None:
    config = simulated_gateway("outage", persistent_broker.port, [script_rule("seq", "seq/test", "sequence.py")],
                               measure="Level", address="sine/5", upload_interval=0.05)
    path = write_config(tmp_path, config, {"sequence.py": SEQUENCE_SCRIPT})
    subscriber = Subscriber(persistent_broker.port, "seq/#", client_id="outage-subscriber", clean=False)
    received: list[int] = []
    try:
        async with running_gateway(path) as gateway:
            connector = gateway.connectors["default"]
            await until(lambda: (_drain(subscriber, received), len(received) >= 10)[1], "first messages", 20)
            persistent_broker.stop()
            await until(lambda: not connector.state.connected, "the gateway to notice the outage", 10)
            await asyncio.sleep(2.0)
            assert gateway.outbox is not None
            buffered = gateway.outbox.depth
            assert buffered >= 10, f"only {buffered} message(s) buffered during the outage"
            assert any(word in connector.state.last_error for word in ("lost", "refused")), connector.state.last_error
            persistent_broker.start()
            await until(lambda: gateway.outbox is not None and gateway.outbox.depth == 0, "the backlog drain", 30)
            produced_before_stop = max(received, default=0) + buffered
            await until(lambda: (_drain(subscriber, received), max(received) >= produced_before_stop)[1],
                        "the backlog at the subscriber", 30)
    finally:
        subscriber.close()
    first_seen = list(dict.fromkeys(received))
    assert first_seen == list(range(1, len(first_seen) + 1)), "a message was lost or arrived out of order"
    assert len(first_seen) >= produced_before_stop
    print(f"outage: {buffered} buffered, {len(first_seen)} delivered, {len(received) - len(first_seen)} duplicate(s)")

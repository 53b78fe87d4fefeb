"""What the rest of the gateway needs of any cloud connector, MQTT or IoTgo."""

from __future__ import annotations

from typing import Protocol

from gateway.config import Cloud

from .mqtt import LinkState


class CloudConnector(Protocol):
    """A running connection to one cloud."""

    cloud: Cloud
    state: LinkState

    async def run(self) -> None:
        """Deliver the cloud's outbox until cancelled."""

    def send_now(self, topic: str, payload: bytes, qos: int) -> bool:
        """Send at once if connected, never stored (``mqtt_publish``); return whether it was sent."""

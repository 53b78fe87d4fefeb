"""What the rest of the gateway needs of any cloud connector, MQTT or IoTgo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gateway.config import Cloud


@dataclass
class LinkState:
    """What the UI and the log say about a cloud connection."""

    connected: bool = False
    last_error: str = ""  # the reason of the last failure, kept after a reconnect
    since: float = 0.0
    delivered: int = 0
    failures: int = 0  # connection failures since start
    dropped: int = 0  # messages that could never be sent, logged and not resent (IoTgo: see its connector)
    waiting: dict[str, str] = field(default_factory=dict)  # what waits though connected (an IoTgo device), and why


class CloudConnector(Protocol):
    """A running connection to one cloud."""

    cloud: Cloud
    state: LinkState

    async def run(self) -> None:
        """Deliver the cloud's outbox until cancelled."""

    def send_now(self, topic: str, payload: bytes, qos: int) -> bool:
        """Send at once if connected, never stored (``mqtt_publish``); return whether it was sent."""

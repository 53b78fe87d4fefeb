"""Northbound connectors: MQTT (any broker, AWS IoT) and IoTgo, each draining the outbox in order."""

from .connector import CloudConnector, LinkState
from .iotgo import IotgoConnector
from .mqtt import MqttConnector

__all__ = ["CloudConnector", "IotgoConnector", "LinkState", "MqttConnector"]

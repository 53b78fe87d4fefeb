"""Northbound connectors: MQTT (any broker) with paced, ordered outbox drain."""

from .mqtt import LinkState, MqttConnector

__all__ = ["LinkState", "MqttConnector"]

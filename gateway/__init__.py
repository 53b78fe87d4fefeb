"""Edge gateway: polls PLCs, runs sandboxed user scripts, buffers durably, delivers over MQTT."""

__version__ = "0.1.0"

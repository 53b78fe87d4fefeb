"""The configuration contract: schema, loading with path-qualified problems, cross-checks."""

from .load import LoadedConfig, load_config, parse_config
from .references import measure_point
from .schema import Cloud, Controller, GatewayConfig, Group, Measure, PublishRule, SubscribeRule

__all__ = [
    "Cloud", "Controller", "GatewayConfig", "Group", "LoadedConfig", "Measure", "PublishRule",
    "SubscribeRule", "load_config", "measure_point", "parse_config",
]

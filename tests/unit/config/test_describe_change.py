"""What the audit log says a configuration change changed: items by name, fields by name, never a value."""

from __future__ import annotations

from typing import Any

from gateway.config.changes import describe_change
from gateway.config.schema import GatewayConfig


def _config(**changes: Any) -> GatewayConfig:
    data: dict[str, Any] = {
        "gateway": {"name": "line-1"},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": "10.0.0.5:502"}],
        "measures": [{"name": f"M{i}", "controller": "PLC1", "group": "g", "address": f"4000{i}", "type": "INT"}
                     for i in range(1, 4)],
        "groups": [{"name": "g"}],
        "clouds": [{"name": "default", "type": "mqtt", "host": "broker", "password": "first-secret"}],
    }
    data.update(changes)
    return GatewayConfig.model_validate(data)


def test_items_added_removed_and_changed_are_named_with_their_fields() -> None:
    before = _config()
    measures = [dict(m) for m in before.model_dump(exclude_none=True)["measures"]]
    measures[0]["address"] = "40009"
    measures = measures[:2] + [{"name": f"N{i}", "controller": "PLC1", "group": "g", "address": "40100", "type": "INT"}
                               for i in range(7)]
    after = _config(measures=measures, gateway={"name": "line-2"})
    assert describe_change(before, after) == [
        "gateway: name changed",
        "measures: added PLC1.N0, PLC1.N1, PLC1.N2, PLC1.N3, PLC1.N4 and 2 more; removed PLC1.M3; "
        "changed PLC1.M1 (address)"]


def test_a_changed_password_is_named_but_never_shown() -> None:
    after = _config(clouds=[{"name": "default", "type": "mqtt", "host": "broker", "password": "second-secret"}])
    said = describe_change(_config(), after)
    assert said == ["clouds: changed default (password)"]
    assert "secret" not in said[0]


def test_services_are_told_by_key_and_nothing_changed_says_nothing() -> None:
    after = _config(services={"modbus_server": {"port": 5020}})
    assert describe_change(_config(), after) == ["services: added modbus_server"]
    assert describe_change(_config(), _config()) == []

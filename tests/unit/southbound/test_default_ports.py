"""An endpoint without a port reaches the protocol's own (Modbus TCP 502, S7 102, EtherNet/IP 44818)."""

from __future__ import annotations

import pytest

from gateway.southbound import driver_for


@pytest.mark.parametrize(("protocol", "endpoint", "reached"), [
    ("modbus-tcp", "192.168.1.10", ("192.168.1.10", 502)),
    ("modbus-tcp", "plc-7.plant", ("plc-7.plant", 502)),
    ("modbus-tcp", "192.168.1.10:1502", ("192.168.1.10", 1502)),
    ("s7", "192.168.1.20", ("192.168.1.20", 102)),
    ("ethernet-ip", "[fd00::7]", ("fd00::7", 44818)),
    ("ethernet-ip", "[fd00::7]:2222", ("fd00::7", 2222)),
])
def test_a_host_alone_reaches_the_protocols_port(protocol: str, endpoint: str, reached: tuple[str, int]) -> None:
    driver = driver_for(protocol)
    assert driver.check_endpoint(endpoint) is None
    assert driver.network_address(endpoint) == reached


def test_a_protocol_without_a_usual_port_still_asks_for_one() -> None:
    assert "is not host:port" in (driver_for("mc-3e").check_endpoint("192.168.1.60") or "")
    assert "no valid port" in (driver_for("modbus-tcp").check_endpoint("192.168.1.10:") or "")

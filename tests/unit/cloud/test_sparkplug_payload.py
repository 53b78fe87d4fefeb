"""Sparkplug B payloads: what the gateway encodes is what the specification's field numbers say
(read back by the tests' own wire reader), and a host's command is read."""

from __future__ import annotations

import pytest

from gateway.cloud import sparkplug_payload as sp
from gateway.core.errors import CloudError
from tests.sparkplug_host import command, parse

METRICS = [sp.Metric("Temp", 1, sp.FLOAT, 21.5), sp.Metric("Offset", 2, sp.INT16, -5),
           sp.Metric("Energy", 3, sp.INT64, -(2**40)), sp.Metric("Pump", 4, sp.BOOLEAN, True),
           sp.Metric("Batch", 5, sp.STRING, "B-17"), sp.Metric("Flow", 6, sp.DOUBLE, None),
           sp.Metric("Count", 7, sp.UINT32, 4_000_000_000)]


def test_a_payload_is_read_by_the_specifications_numbers() -> None:
    encoded = sp.encode(METRICS, 1_700_000_000_123)
    payload = parse(encoded)
    assert payload.timestamp == 1_700_000_000_123 and payload.seq is None  # seq comes when it is sent
    shown = {m.name: (m.alias, m.datatype, m.value, m.is_null) for m in payload.metrics}
    assert shown == {"Temp": (1, 9, 21.5, False), "Offset": (2, 2, -5, False), "Energy": (3, 4, -(2**40), False),
                     "Pump": (4, 11, True, False), "Batch": (5, 12, "B-17", False), "Flow": (6, 10, None, True),
                     "Count": (7, 7, 4_000_000_000, False)}
    assert parse(sp.with_seq(encoded, 200)).seq == 200
    assert all(m.is_historical for m in parse(sp.historical(encoded)).metrics)


def test_a_hosts_command_is_decoded() -> None:
    _timestamp, _seq, metrics = sp.decode(command([("Node Control/Rebirth", 11, True), ("Setpoint", 9, 42.5),
                                                   ("Offset", 2, -3)]))
    assert [(m.name, m.value) for m in metrics] == [("Node Control/Rebirth", True), ("Setpoint", 42.5),
                                                    ("Offset", -3)]


def test_bytes_that_are_no_payload_are_refused() -> None:
    with pytest.raises(CloudError, match="not a Sparkplug B payload"):
        sp.decode(b"\x12\xff\xff\xff\xff\x0f")


def test_a_row_that_is_no_payload_is_refused_when_marked_historical() -> None:
    with pytest.raises(CloudError, match="not a Sparkplug B payload"):
        sp.historical(b'{"not": "protobuf"}')

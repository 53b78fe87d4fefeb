"""A Sparkplug B host application for the tests, written apart from the gateway's codec: it reads
the protobuf wire format field by field against the numbers of the specification's
sparkplug_b.proto (Payload: timestamp 1, metrics 2, seq 3; Metric: name 1, alias 2, timestamp 3,
datatype 4, is_historical 5, is_null 7, int_value 10, long_value 11, float_value 12,
double_value 13, boolean_value 14, string_value 15), so a gateway that numbered a field wrongly
fails here instead of agreeing with itself."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HostMetric:
    name: str | None = None
    alias: int | None = None
    timestamp: int | None = None
    datatype: int | None = None
    is_historical: bool = False
    is_null: bool = False
    value: Any = None


@dataclass
class HostPayload:
    timestamp: int | None = None
    seq: int | None = None
    metrics: list[HostMetric] = field(default_factory=list)

    def by_name(self) -> dict[str | None, HostMetric]:
        return {m.name: m for m in self.metrics}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) in order; length-delimited values as bytes."""
    found, at = [], 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise ValueError(f"wire type {wire}")
        found.append((number, wire, value))
    return found


def parse(data: bytes) -> HostPayload:
    """Read a Sparkplug B payload."""
    payload = HostPayload()
    for number, _wire, value in _fields(data):
        if number == 1:
            payload.timestamp = value
        elif number == 3:
            payload.seq = value
        elif number == 2:
            payload.metrics.append(_metric(value))
    return payload


def _metric(data: bytes) -> HostMetric:
    metric = HostMetric()
    for number, _wire, value in _fields(data):
        if number == 1:
            metric.name = value.decode()
        elif number == 2:
            metric.alias = value
        elif number == 3:
            metric.timestamp = value
        elif number == 4:
            metric.datatype = value
        elif number == 5:
            metric.is_historical = bool(value)
        elif number == 7:
            metric.is_null = bool(value)
        elif number in (10, 11):
            bits = 64 if number == 11 else 32
            signed = metric.datatype in (1, 2, 3, 4)
            metric.value = value - (1 << bits) if signed and value >= 1 << (bits - 1) else value
        elif number == 12:
            metric.value = struct.unpack("<f", value)[0]
        elif number == 13:
            metric.value = struct.unpack("<d", value)[0]
        elif number == 14:
            metric.value = bool(value)
        elif number == 15:
            metric.value = value.decode()
    return metric


def command(metrics: list[tuple[str, int, Any]], timestamp: int = 0) -> bytes:
    """Encode an NCMD/DCMD payload of (name, datatype, value) metrics the way a host does."""
    body = _key(1, 0) + _varint_bytes(timestamp)
    for name, datatype, value in metrics:
        encoded = name.encode()
        inner = _key(1, 2) + _varint_bytes(len(encoded)) + encoded + _key(4, 0) + _varint_bytes(datatype)
        if datatype == 11:
            inner += _key(14, 0) + _varint_bytes(int(bool(value)))
        elif datatype == 9:
            inner += _key(12, 5) + struct.pack("<f", value)
        elif datatype == 10:
            inner += _key(13, 1) + struct.pack("<d", value)
        elif datatype in (1, 2, 3, 5, 6, 7):
            inner += _key(10, 0) + _varint_bytes(value & 0xFFFFFFFF)
        else:
            inner += _key(11, 0) + _varint_bytes(value & 0xFFFFFFFFFFFFFFFF)
        body += _key(2, 2) + _varint_bytes(len(inner)) + inner
    return body


def _key(number: int, wire: int) -> bytes:
    return _varint_bytes(number << 3 | wire)


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)

"""Sparkplug B payloads (Eclipse Sparkplug 3.0, ``org.eclipse.tahu.protobuf.Payload``), encoded
and decoded by the protobuf runtime from a schema declared here field by field: no generated
code and no protoc, and only the parts an edge node of measures uses (scalar metrics). Fields
this schema does not name (metadata, property sets, data sets, templates) are skipped when a
payload is read, as protobuf skips any unknown field.

``seq`` is left out of an encoded payload and appended when the message is sent
(:func:`with_seq`): a message waits in the outbox, and its place in the session's sequence is
known only when it goes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from gateway.core.errors import CloudError
from gateway.southbound import DataType

_FIELD = descriptor_pb2.FieldDescriptorProto
PACKAGE = "org.eclipse.tahu.protobuf"

# Sparkplug's data types (the specification's DataType enumeration, the scalar ones)
INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 = 1, 2, 3, 4, 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = 9, 10, 11, 12, 13, 14
SPARKPLUG_TYPE = {
    DataType.BIT: BOOLEAN, DataType.BOOL: BOOLEAN, DataType.SINT: INT8, DataType.BYTE: UINT8,
    DataType.INT: INT16, DataType.WORD: UINT16, DataType.BCD: UINT16, DataType.DINT: INT32, DataType.DWORD: UINT32,
    DataType.LONG: INT64, DataType.ULONG: UINT64, DataType.FLOAT: FLOAT, DataType.DOUBLE: DOUBLE,
    DataType.STRING: STRING,
}
_INT32_FIELD = {INT8, INT16, INT32, UINT8, UINT16, UINT32}  # int_value, negatives in two's complement
_INT64_FIELD = {INT64, UINT64, DATETIME}  # long_value
_SIGNED = {INT8, INT16, INT32, INT64}


def _schema() -> descriptor_pb2.FileDescriptorProto:
    schema = descriptor_pb2.FileDescriptorProto(name="sparkplug_b.proto", package=PACKAGE, syntax="proto2")
    payload = schema.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    optional, repeated = _FIELD.LABEL_OPTIONAL, _FIELD.LABEL_REPEATED
    for name, number, kind in [("timestamp", 1, _FIELD.TYPE_UINT64), ("seq", 3, _FIELD.TYPE_UINT64),
                               ("uuid", 4, _FIELD.TYPE_STRING), ("body", 5, _FIELD.TYPE_BYTES)]:
        payload.field.add(name=name, number=number, type=kind, label=optional)
    payload.field.add(name="metrics", number=2, type=_FIELD.TYPE_MESSAGE, label=repeated,
                      type_name=f".{PACKAGE}.Payload.Metric")
    for name, number, kind in [("name", 1, _FIELD.TYPE_STRING), ("alias", 2, _FIELD.TYPE_UINT64),
                               ("timestamp", 3, _FIELD.TYPE_UINT64), ("datatype", 4, _FIELD.TYPE_UINT32),
                               ("is_historical", 5, _FIELD.TYPE_BOOL), ("is_transient", 6, _FIELD.TYPE_BOOL),
                               ("is_null", 7, _FIELD.TYPE_BOOL)]:
        metric.field.add(name=name, number=number, type=kind, label=optional)
    for name, number, kind in [("int_value", 10, _FIELD.TYPE_UINT32), ("long_value", 11, _FIELD.TYPE_UINT64),
                               ("float_value", 12, _FIELD.TYPE_FLOAT), ("double_value", 13, _FIELD.TYPE_DOUBLE),
                               ("boolean_value", 14, _FIELD.TYPE_BOOL), ("string_value", 15, _FIELD.TYPE_STRING),
                               ("bytes_value", 16, _FIELD.TYPE_BYTES)]:
        metric.field.add(name=name, number=number, type=kind, label=optional, oneof_index=0)
    return schema


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_schema())
Payload: type[Message] = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.Payload"))


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric as an edge node sends or a host commands it."""

    name: str | None
    alias: int | None
    datatype: int
    value: Any  # None: is_null
    timestamp: int = 0  # ms since the epoch
    is_historical: bool = False


def encode(metrics: Iterable[Metric], timestamp: int, *, seq: int | None = None) -> bytes:
    """Return a payload of ``metrics`` (without ``seq`` unless given; see :func:`with_seq`)."""
    payload: Any = Payload()
    payload.timestamp = timestamp
    if seq is not None:
        payload.seq = seq
    for metric in metrics:
        entry = payload.metrics.add()
        if metric.name is not None:
            entry.name = metric.name
        if metric.alias is not None:
            entry.alias = metric.alias
        entry.timestamp = metric.timestamp or timestamp
        entry.datatype = metric.datatype
        if metric.is_historical:
            entry.is_historical = True
        if metric.value is None:
            entry.is_null = True
        else:
            _set_value(entry, metric.datatype, metric.value)
    return bytes(payload.SerializeToString())


def decode(data: bytes) -> tuple[int | None, int | None, list[Metric]]:
    """Return a payload's timestamp, seq and metrics; raise CloudError for bytes that are not one."""
    payload: Any = Payload()
    try:
        payload.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise CloudError(f"not a Sparkplug B payload: {exc}") from None
    metrics = [Metric(entry.name if entry.HasField("name") else None, entry.alias if entry.HasField("alias") else None,
                      entry.datatype, None if entry.is_null else _value(entry), entry.timestamp, entry.is_historical)
               for entry in payload.metrics]
    return (payload.timestamp if payload.HasField("timestamp") else None,
            payload.seq if payload.HasField("seq") else None, metrics)


def with_seq(encoded: bytes, seq: int) -> bytes:
    """Append field 3 (``seq``) to an encoded payload: protobuf takes fields in any order."""
    return encoded + b"\x18" + _varint(seq)


def historical(encoded: bytes) -> bytes:
    """Return the payload with every metric marked ``is_historical`` (sent after a new birth, it
    is data from before it: Sparkplug's store and forward)."""
    payload: Any = Payload()
    try:
        payload.ParseFromString(encoded)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise CloudError(f"not a Sparkplug B payload: {exc}") from None
    for entry in payload.metrics:
        entry.is_historical = True
    return bytes(payload.SerializeToString())


def _set_value(entry: Any, datatype: int, value: Any) -> None:
    if datatype in _INT32_FIELD:
        entry.int_value = int(value) & 0xFFFFFFFF
    elif datatype in _INT64_FIELD:
        entry.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif datatype == FLOAT:
        entry.float_value = float(value)
    elif datatype == DOUBLE:
        entry.double_value = float(value)
    elif datatype == BOOLEAN:
        entry.boolean_value = bool(value)
    elif datatype in (STRING, TEXT):
        entry.string_value = str(value)
    else:
        raise CloudError(f"Sparkplug data type {datatype} is not one a measure has")


def _value(entry: Any) -> Any:
    kind = entry.WhichOneof("value")
    if kind is None:
        return None
    value = getattr(entry, kind)
    if entry.datatype in _SIGNED and isinstance(value, int) and not isinstance(value, bool):
        width = 64 if kind == "long_value" else 32  # two's complement in the field's own width
        if value >= 1 << (width - 1):
            value -= 1 << width
    if kind == "float_value":
        value = float(f"{value:.7g}")  # a float32 holds 7 digits
    return value


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


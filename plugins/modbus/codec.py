"""Decode and encode values in Modbus registers (pure).

Registers travel big-endian; the controller's byte order rearranges the bytes of 32- and 64-bit
values on top of that.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from gateway.southbound import ByteOrder, DataType, Point

from .addresses import ModbusAddress, register_count


def reorder(data: bytes, order: ByteOrder) -> bytes:
    """Convert between wire order and big-endian; every order is its own inverse."""
    if len(data) < 4 or order == ByteOrder.ABCD:
        return data
    if order == ByteOrder.DCBA:
        return data[::-1]
    words = [data[i : i + 2] for i in range(0, len(data), 2)]
    if order == ByteOrder.CDAB:
        return b"".join(reversed(words))
    return b"".join(w[::-1] for w in words)  # BADC


def registers_to_bytes(registers: Sequence[int]) -> bytes:
    """Join registers into their big-endian bytes."""
    return b"".join(r.to_bytes(2, "big") for r in registers)


def bytes_to_registers(data: bytes) -> list[int]:
    """Split bytes (padded to even length) into big-endian registers."""
    if len(data) % 2:
        data += b"\x00"
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def decode(point: Point, address: ModbusAddress, registers: Sequence[int]) -> Any:
    """Decode a point from the registers that hold it (starting at its own offset)."""
    dtype = point.dtype
    if address.bit is not None:
        return bool(registers[0] >> address.bit & 1)
    raw = registers_to_bytes(registers)
    if dtype is DataType.STRING:
        return raw[: point.length].split(b"\x00", 1)[0].decode(point.encoding, errors="replace")
    if dtype is DataType.BCD:
        return _bcd_to_int(registers[0])
    if dtype in (DataType.BYTE, DataType.SINT):
        return struct.unpack(">" + dtype.struct_code, raw[1:2])[0]
    value = struct.unpack(">" + dtype.struct_code, reorder(raw[: dtype.size], point.byte_order))[0]
    if dtype is DataType.FLOAT:
        value = float(f"{value:.7g}")  # a float32 holds 7 digits; show 21.5, not 21.500000953
    return value


BlockDecoder = Callable[[Sequence[int]], list[tuple[str, Any]]]
_IN_ONE_UNPACK = (DataType.WORD, DataType.INT, DataType.DWORD, DataType.DINT, DataType.FLOAT, DataType.ULONG,
                  DataType.LONG, DataType.DOUBLE)


def block_decoder(start: int, members: Sequence[tuple[Point, ModbusAddress]]) -> BlockDecoder:
    """Compile the decoding of a register block starting at ``start``: the members that are whole
    numbers in big-endian order come out of one ``struct.unpack`` (floats rounded as :func:`decode`
    rounds them); the others go through :func:`decode` one by one. Raise ``struct.error`` when
    the registers are fewer than the block spans."""
    batched: list[tuple[int, Point]] = []
    others: list[tuple[Point, ModbusAddress]] = []
    covered = 0  # bytes of the block the one unpack already reads
    for point, address in sorted(members, key=lambda member: member[1].offset):
        offset = (address.offset - start) * 2
        dtype = point.dtype
        if (address.bit is None and dtype in _IN_ONE_UNPACK and offset >= covered
                and (dtype.size == 2 or point.byte_order == ByteOrder.ABCD)):
            batched.append((offset, point))
            covered = offset + dtype.size
        else:
            others.append((point, address))
    layout, position = ">", 0
    for offset, point in batched:
        layout += (f"{offset - position}x" if offset > position else "") + point.dtype.struct_code
        position = offset + point.dtype.size
    unpack = struct.Struct(layout).unpack_from
    names = [point.name for _, point in batched]
    floats = [index for index, (_, point) in enumerate(batched) if point.dtype is DataType.FLOAT]

    def decode_block(registers: Sequence[int]) -> list[tuple[str, Any]]:
        values = list(unpack(struct.pack(f">{len(registers)}H", *registers)))
        for index in floats:
            values[index] = float(f"{values[index]:.7g}")
        pairs = list(zip(names, values, strict=True))
        for point, address in others:
            index = address.offset - start
            pairs.append((point.name, decode(point, address, registers[index : index + register_count(point)])))
        return pairs

    return decode_block


def decode_bit(bits: Sequence[bool], index: int) -> bool:
    """Return one coil or discrete input from a block read."""
    return bool(bits[index])


def encode(point: Point, value: Any) -> list[int]:
    """Encode a value into the registers that hold it (not for bits in registers)."""
    dtype = point.dtype
    if dtype is DataType.STRING:
        data = str(value).encode(point.encoding)[: point.length].ljust(point.length, b"\x00")
        return bytes_to_registers(data)
    if dtype is DataType.BCD:
        return [_int_to_bcd(int(value))]
    if dtype in (DataType.BYTE, DataType.SINT):
        return [struct.pack(">" + dtype.struct_code, int(value))[0]]
    number = float(value) if dtype in (DataType.FLOAT, DataType.DOUBLE) else int(value)
    raw = struct.pack(">" + dtype.struct_code, number)
    return bytes_to_registers(reorder(raw, point.byte_order))


def set_bit(register: int, bit: int, value: bool) -> int:
    """Return ``register`` with one bit set or cleared."""
    return register | (1 << bit) if value else register & ~(1 << bit)


def _bcd_to_int(register: int) -> int:
    digits = [(register >> shift) & 0xF for shift in (12, 8, 4, 0)]
    if any(d > 9 for d in digits):
        raise ValueError(f"0x{register:04x} is not BCD")
    return int("".join(map(str, digits)))


def _int_to_bcd(value: int) -> int:
    if not 0 <= value <= 9999:
        raise ValueError(f"{value} does not fit a 4-digit BCD")
    return int(str(value), 16)

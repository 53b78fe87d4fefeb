"""MELSEC devices, 3E binary frames, read planning and value encoding (pure, table-tested)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.errors import AddressError
from gateway.southbound import DataType, Point
from gateway_plugins.melsec import codec, frames
from gateway_plugins.melsec.addresses import DEVICES, check_point, parse_address
from gateway_plugins.melsec.planning import plan_reads


@pytest.mark.parametrize(("text", "device", "number", "bit", "word"), [
    ("D100", "D", 100, None, 100), ("W1A", "W", 0x1A, None, 0x1A), ("R2000", "R", 2000, None, 2000),
    ("ZR10000", "ZR", 10000, None, 10000), ("M20", "M", 20, None, 1), ("X1A", "X", 0x1A, None, 1),
    ("Y1F", "Y", 0x1F, None, 1), ("B3F", "B", 0x3F, None, 3), ("d100.3", "D", 100, 3, 100),
    ("D110.F", "D", 110, 15, 110), ("SM400", "SM", 400, None, 25),
])
def test_every_device_form_parses(text: str, device: str, number: int, bit: int | None, word: int) -> None:
    address = parse_address(text)
    assert (address.device.name, address.number, address.bit, address.word) == (device, number, bit, word)


@pytest.mark.parametrize(("text", "dtype", "reason"), [
    ("Q100", DataType.INT, "is not a MELSEC device"),
    ("D1A", DataType.INT, "counts in decimal"),
    ("M20.1", DataType.BIT, "already holds bits"),
    ("M20", DataType.INT, "is a bit device"),
    ("D100", DataType.BOOL, "name the bit"),
    ("D100.3", DataType.INT, "is a bit"),
    ("D100", DataType.BCD, "BCD"),
    ("D99999999", DataType.INT, "above"),
])
def test_a_wrong_device_says_what_is_wrong(text: str, dtype: DataType, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        check_point(Point("P", text, dtype))


def test_a_q_batch_read_frame_is_byte_exact() -> None:
    request = frames.read_request(frames.Route(), DEVICES["D"], 100, 3, 16)
    assert request.hex(" ") == "50 00 00 ff ff 03 00 0c 00 10 00 01 04 00 00 64 00 00 a8 03 00"
    iqr = frames.read_request(frames.Route(), DEVICES["D"], 100, 3, 16, iqr=True)
    assert iqr.hex(" ") == "50 00 00 ff ff 03 00 0e 00 10 00 01 04 02 00 64 00 00 00 a8 00 03 00"
    bit = frames.write_bit_request(frames.Route(), DEVICES["Y"], 0x1F, True, 16)
    assert bit.hex(" ").endswith("01 14 01 00 1f 00 00 9d 01 00 10")


@pytest.mark.parametrize(("header", "reason"), [
    (bytes.fromhex("d00000ffff0300ffff"), "says it has 65535 bytes"),
    (bytes.fromhex("500000ffff03000200"), "starts 5000"),
    (bytes.fromhex("d00001ffff03000200"), "another route"),
])
def test_an_answer_that_is_no_answer_to_us_is_refused(header: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        frames.answer_length(header, frames.Route())


def test_devices_are_merged_into_batch_reads_within_the_frame_limit() -> None:
    words = [Point(f"D{i}", f"D{i * 2}", DataType.DINT) for i in range(1000)]  # D0-D1999
    bits = [Point(f"M{i}", f"M{i}", DataType.BIT) for i in range(0, 960, 3)]
    plan = plan_reads([*words, *bits, Point("far", "D5000", DataType.INT)], max_gap=16)
    assert [(b.device.name, b.start, b.count) for b in plan.blocks] == [
        ("M", 0, 60), ("D", 0, 960), ("D", 960, 960), ("D", 1920, 80), ("D", 5000, 1)]


@pytest.mark.parametrize(("dtype", "value", "words"), [
    (DataType.INT, -2, "feff"), (DataType.WORD, 65535, "ffff"), (DataType.DINT, 0x12345678, "78563412"),
    (DataType.FLOAT, 21.5, "0000ac41"), (DataType.DOUBLE, 1.5, "000000000000f83f"),
    (DataType.BYTE, 7, "0700"),
])
def test_values_are_low_word_first_little_endian(dtype: DataType, value: Any, words: str) -> None:
    point = Point("P", "D100", dtype)
    assert codec.encode(point, value).hex() == words
    assert codec.decode(point, parse_address("D100"), bytes.fromhex(words), 0) == value


def test_strings_and_bits() -> None:
    lot = Point("Lot", "D200", DataType.STRING, length=5)
    assert codec.encode(lot, "AB12X") == b"AB12X\x00"
    assert codec.decode(lot, parse_address("D200"), b"AB12X\x00", 0) == "AB12X"
    word = bytes.fromhex("0880")  # bits 3 and 15
    assert codec.decode(Point("M", "M19", DataType.BIT), parse_address("M19"), word, 0) is True  # M19 = bit 3
    assert codec.decode(Point("b", "D1.F", DataType.BIT), parse_address("D1.F"), word, 0) is True
    assert codec.with_bit(word, 3, False).hex() == "0080"

"""Build Modbus requests and check that an answer answers them (pure).

A device, a serial device server or anything else on the port can send a frame that parses but
belongs to another request: another function code, fewer registers than asked, another unit, an
older transaction. Its values are not readings of what we asked for, so the whole frame is
refused; :func:`mismatch` says what was wrong, for the one log line the poller writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymodbus.pdu import ModbusPDU
from pymodbus.pdu import bit_message as bits
from pymodbus.pdu import register_message as registers

from .addresses import Area

_READS: dict[Area, type[ModbusPDU]] = {
    Area.COIL: bits.ReadCoilsRequest,
    Area.DISCRETE_INPUT: bits.ReadDiscreteInputsRequest,
    Area.HOLDING_REGISTER: registers.ReadHoldingRegistersRequest,
    Area.INPUT_REGISTER: registers.ReadInputRegistersRequest,
}
_EXCEPTION_FLAG = 0x80


def read_request(area: Area, start: int, count: int, unit: int) -> ModbusPDU:
    """Return the request reading ``count`` registers (or bits) of ``area`` from ``start``."""
    return _READS[area](address=start, count=count, dev_id=unit)


def write_coils_request(offset: int, values: Sequence[bool], unit: int, single: bool) -> ModbusPDU:
    """Return an FC5 (``single``, one value) or FC15 request."""
    if single:
        return bits.WriteSingleCoilRequest(address=offset, bits=[values[0]], dev_id=unit)
    return bits.WriteMultipleCoilsRequest(address=offset, bits=list(values), dev_id=unit)


def write_registers_request(offset: int, words: Sequence[int], unit: int, single: bool) -> ModbusPDU:
    """Return an FC6 (``single``, one word) or FC16 request."""
    if single:
        return registers.WriteSingleRegisterRequest(address=offset, registers=[words[0]], dev_id=unit)
    return registers.WriteMultipleRegistersRequest(address=offset, registers=list(words), dev_id=unit)


def mismatch(request: ModbusPDU, answer: ModbusPDU) -> str | None:
    """Return why ``answer`` does not answer ``request``, or None when it does.

    Checked: unit id, transaction id, function code (an exception answer carries the request's
    code with the high bit set), and for a normal answer its length (exactly the registers or
    bits asked for) or, for a write, the echoed address and count (or value).
    """
    if answer.dev_id != request.dev_id:
        return f"answer from unit {answer.dev_id} to a request to unit {request.dev_id}"
    if answer.transaction_id != request.transaction_id:
        return f"answer with transaction id {answer.transaction_id} to transaction {request.transaction_id}"
    code = answer.function_code
    if code & _EXCEPTION_FLAG:
        if (answered := code & ~_EXCEPTION_FLAG) != request.function_code:
            return f"exception answer for function code {answered} to function code {request.function_code}"
        return None
    if code != request.function_code:
        return f"answer with function code {code} to function code {request.function_code}"
    return _length_mismatch(request, answer)


def _length_mismatch(request: ModbusPDU, answer: ModbusPDU) -> str | None:
    code = request.function_code
    if code in (1, 2):
        expected = (request.count + 7) // 8
        got = (len(answer.bits) + 7) // 8
        if got != expected:
            return f"answer with {got} byte(s) of bits to a read of {request.count} bit(s) ({expected} byte(s))"
    elif code in (3, 4):
        if len(answer.registers) != request.count:
            return f"answer with {len(answer.registers)} register(s) to a read of {request.count}"
    elif answer.address != request.address:
        return f"write answer for address {answer.address} to a write at {request.address}"
    elif code in (15, 16) and answer.count != _written_count(request):
        return f"write answer for {answer.count} value(s) to a write of {_written_count(request)}"
    elif code == 5 and list(answer.bits[:1]) != list(request.bits[:1]):
        return f"write answer echoing {answer.bits[0]} to a write of {request.bits[0]}"
    elif code == 6 and list(answer.registers[:1]) != list(request.registers[:1]):
        return f"write answer echoing {answer.registers[0]} to a write of {request.registers[0]}"
    return None


def _written_count(request: ModbusPDU) -> int:
    return len(request.bits) if request.function_code == 15 else len(request.registers)

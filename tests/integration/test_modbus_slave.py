"""A SCADA reads the gateway as a Modbus TCP slave (a real pymodbus client against the real
gateway) and writes through it to the simulated PLC."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse

from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_gateway, still_modbus_plc, write_config
from tests.waiting import until

PLC_VALUES = {"Temp": 21.5, "Speed": 1450, "Pump": True, "Setpoint": 40.0, "Alarm": False}


def _config(tmp_path: Path, plc_port: int, slave: dict[str, Any]) -> dict[str, Any]:
    def measure(name: str, address: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "controller": "PLC1", "group": "g", "address": address, "type": kind, **extra}

    return {
        "gateway": {"name": "slave", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{plc_port}",
                         "sample_period": 0.1, "timeout": 1.0}],
        "measures": [
            measure("Temp", "40001", "FLOAT"),
            measure("Speed", "40003", "INT"),
            measure("Pump", "00001", "BIT", access="rw"),
            measure("Setpoint", "40010", "FLOAT", access="rw"),
            measure("Alarm", "00002", "BIT"),
        ],
        "groups": [{"name": "g", "upload_interval": 10}],
        "services": {"modbus_server": {"host": "127.0.0.1", **slave}},
    }


async def _start(tmp_path: Path, slave: dict[str, Any]) -> tuple[Path, ModbusSimServer, int]:
    plc_port, slave_port = free_port(), free_port()
    path = write_config(tmp_path, _config(tmp_path, plc_port, {"port": slave_port, **slave}))
    plc = await still_modbus_plc(path, plc_port, PLC_VALUES)
    return path, plc, slave_port


async def _client(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
    assert await client.connect()
    return client


def _float(registers: list[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">2H", *registers))[0])


async def test_a_scada_reads_the_auto_layout_and_writes_through_to_the_plc(tmp_path: Path) -> None:
    path, plc, port = await _start(tmp_path, {"layout": "auto"})
    try:
        async with running_gateway(path) as gateway:
            client = await _client(port)
            try:
                # auto: ro numbers in input registers (Temp 30001-2, Speed 30003), rw ones in holding
                # registers (Setpoint 40001-2), rw bits in coils (Pump 00001), ro bits in discrete inputs.
                async def temp_served() -> bool:
                    answer = await client.read_input_registers(0, count=3, device_id=1)
                    return not answer.isError() and _float(answer.registers[:2]) == 21.5
                await until(temp_served, "the first reading to be served", 10)
                inputs = await client.read_input_registers(0, count=3, device_id=1)
                assert inputs.registers[2] == 1450
                assert (await client.read_coils(0, count=1, device_id=1)).bits[0] is True
                assert (await client.read_discrete_inputs(0, count=1, device_id=1)).bits[0] is False

                written = await client.write_registers(0, list(struct.unpack(">2H", struct.pack(">f", 55.5))),
                                                       device_id=1)
                assert not written.isError()
                assert plc.get_value("Setpoint") == 55.5  # on the PLC before the SCADA got its answer
                assert not (await client.write_coil(0, False, device_id=1)).isError()
                assert plc.get_value("Pump") is False

                # read-only, half a value, nothing there, another unit: refused, and the PLC untouched
                assert (await client.write_registers(0, [1], device_id=1)).exception_code == 2
                assert (await client.read_holding_registers(100, count=2, device_id=1)).exception_code == 2
                assert plc.get_value("Setpoint") == 55.5
                other_unit = await client.read_input_registers(0, count=2, device_id=7)
                assert isinstance(other_unit, ExceptionResponse) and other_unit.exception_code == 11
                assert gateway.status().services["modbus_server"]["writes"] == 2
            finally:
                client.close()
    finally:
        await plc.stop()


async def test_a_bad_reading_answers_exception_4_or_the_substitute_with_its_quality_word(tmp_path: Path) -> None:
    mapping = [{"controller": "PLC1", "measure": "Temp", "address": "400101"},
               {"controller": "PLC1", "measure": "Speed", "address": "400104"}]
    path, plc, port = await _start(tmp_path, {"map": mapping, "on_bad": "substitute", "substitute": -1})
    try:
        async with running_gateway(path):
            client = await _client(port)
            try:
                async def served(quality: int) -> bool:
                    answer = await client.read_holding_registers(100, count=5, device_id=1)
                    return not answer.isError() and answer.registers[2] == quality
                await until(lambda: served(0), "the good reading", 10)
                good = await client.read_holding_registers(100, count=5, device_id=1)
                assert (_float(good.registers[:2]), good.registers[3], good.registers[4]) == (21.5, 1450, 0)
                await plc.stop()  # the PLC goes away: the values turn bad
                await until(lambda: served(1), "the substitute", 15)
                bad = await client.read_holding_registers(100, count=5, device_id=1)
                assert (_float(bad.registers[:2]), struct.unpack(">h", struct.pack(">H", bad.registers[3]))[0],
                        bad.registers[4]) == (-1.0, -1, 1)
                assert (await client.write_registers(100, [0, 0], device_id=1)).exception_code == 2  # ro
            finally:
                client.close()
    finally:
        await plc.stop()


async def test_exception_4_for_a_bad_reading_and_a_refused_plc_write(tmp_path: Path) -> None:
    mapping = [{"controller": "PLC1", "measure": "Setpoint", "address": "400001"}]
    path, plc, port = await _start(tmp_path, {"map": mapping})
    try:
        async with running_gateway(path):
            client = await _client(port)
            try:
                async def readable() -> bool:
                    return not (await client.read_holding_registers(0, count=2, device_id=1)).isError()
                await until(readable, "the first reading", 10)
                await plc.stop()
                async def failing() -> bool:
                    answer = await client.read_holding_registers(0, count=2, device_id=1)
                    return getattr(answer, "exception_code", None) == 4
                await until(failing, "exception 4 for the bad value", 15)
                refused = await client.write_registers(0, [0x4200, 0], device_id=1)  # the PLC is away
                assert refused.exception_code == 4
            finally:
                client.close()
    finally:
        await plc.stop()


async def test_a_client_not_on_the_allow_list_is_disconnected(tmp_path: Path) -> None:
    path, plc, port = await _start(tmp_path, {"layout": "auto", "allowed_clients": ["10.9.9.0/24"]})
    try:
        async with running_gateway(path) as gateway:
            client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0, reconnect_delay=0)
            await client.connect()
            with pytest.raises(Exception):  # noqa: B017 (pymodbus raises its own connection errors)
                answer = await client.read_input_registers(0, count=1, device_id=1)
                assert answer.isError()
            client.close()
            await asyncio.sleep(0.1)
            assert gateway.status().services["modbus_server"]["refused_clients"] >= 1
    finally:
        await plc.stop()


async def test_garbage_from_a_client_does_not_stop_the_slave_from_serving_others(tmp_path: Path) -> None:
    path, plc, port = await _start(tmp_path, {"layout": "auto", "max_connections": 2})
    try:
        async with running_gateway(path) as gateway:
            hostile = [b"\x00" * 7 + b"\xff" * 300,  # a frame of an unknown function
                       b"\x00\x01\x00\x00\xff\xff\x01\x03",  # a length far beyond what follows
                       b"\x00\x02\x00\x00\x00\x06\x01\x03\xff\xff\x00\x7d",  # 125 registers from 65535
                       bytes(range(256)) * 4]
            for frame in hostile:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(frame)
                await writer.drain()
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read(512), 0.5)
                writer.close()
            client = await _client(port)
            try:
                async def served() -> bool:
                    answer = await client.read_input_registers(0, count=3, device_id=1)
                    return not answer.isError() and answer.registers[2] == 1450
                await until(served, "a well-behaved client to be served", 10)
            finally:
                client.close()
            assert gateway.status().services["modbus_server"]["state"].startswith("listening")
    finally:
        await plc.stop()


async def test_the_overview_counts_the_clients_connected_now(tmp_path: Path) -> None:
    path, plc, port = await _start(tmp_path, {"layout": "auto"})
    try:
        async with running_gateway(path) as gateway:
            def clients() -> int:
                return int(gateway.status().services["modbus_server"]["clients"])
            first, second = await _client(port), await _client(port)
            await until(lambda: clients() == 2, "two clients counted", 5)
            first.close()
            await until(lambda: clients() == 1, "one client left", 5)
            second.close()
            await until(lambda: clients() == 0, "no client left", 5)
    finally:
        await plc.stop()

"""Data services benchmark, each against a baseline measured in the same run.

Modbus slave, reads: a pymodbus client in its own process reads 125 input registers at a time,
round the map, as fast as it is answered; the gateway's slave serves 5,000 FLOAT measures (10,000
registers) from the latest readings. Baseline: pymodbus's own server with the same registers
in a register image. Reported: requests/s and this process's CPU µs per request.

Modbus slave, writes: a SCADA's write of a FLOAT setpoint through the slave (answered once the
PLC took it) against the same write made directly with the PLC writer, the PLC being a pymodbus
simulator in its own process. Reported: the latency the slave adds on top of the PLC write.

OPC UA server: 10,000 variables whose readings all change every second, one client subscribed
to all of them in its own process. The gateway's way (each poll's changes noted by the watcher
and pushed by one task) against asyncua's own cost: the same variables written directly with
``write_attribute_value`` in a loop. Reported: this process's CPU µs per value change, and the
changes the client was notified of.

    python -m tests.bench.bench_services        (or: make bench)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.collect import ControllerPoller
from gateway.collect.writes import PlcWriter
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway.services.access import DataAccess
from gateway.services.contract import ServedMeasure
from gateway.southbound import DataType, Point, driver_for, parse_args
from gateway_plugins.modbus.simserver import ModbusSimServer
from gateway_plugins.modbus.slave import ModbusSlaveService
from gateway_plugins.modbus.slave_settings import ModbusServerSettings
from tests.conftest import REPO, free_port

TAGS = 5_000
READ_COUNT = 125
OPCUA_VARIABLES = 10_000


@dataclass
class Served:
    """Requests answered over a window, and the serving process's CPU for them."""

    label: str
    requests: int
    wall: float
    cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu / self.requests * 1e6


async def _client_reads(port: int, seconds: float) -> int:
    """Run the reading client in its own process; return how many reads it got answered."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.bench_services", "--client", str(port), str(seconds), str(TAGS * 2),
        cwd=REPO, stdout=subprocess.PIPE)
    out, _ = await process.communicate()
    return int(out.decode().strip() or 0)


async def _measure_reads(label: str, port: int, seconds: float) -> Served:
    wall, cpu = time.perf_counter(), time.process_time()
    requests = await _client_reads(port, seconds)
    return Served(label, requests, time.perf_counter() - wall, time.process_time() - cpu)


def _float_points() -> list[Point]:
    return [Point(f"t{i}", f"3{2 * i + 1:05d}", DataType.FLOAT) for i in range(TAGS)]


async def _slave_reads(seconds: float) -> Served:
    latest = LatestValues()
    for i in range(TAGS):
        latest.set_good("PLC1", f"t{i}", float(i) + 0.5, time.time())
    measures = [ServedMeasure("PLC1", f"t{i}", DataType.FLOAT, 0, "utf-8", writable=False) for i in range(TAGS)]
    port = free_port()
    settings = ModbusServerSettings(host="127.0.0.1", port=port, layout="auto")
    service = ModbusSlaveService(settings, measures, DataAccess(latest, PlcWriter([])))
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.5)
    try:
        return await _measure_reads("gateway's slave (latest readings)", port, seconds)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _plain_server_reads(seconds: float) -> Served:
    port = free_port()
    server = ModbusSimServer(_float_points(), "127.0.0.1", port, moving=lambda _p: False)
    await server.start()
    try:
        return await _measure_reads("pymodbus server (register image)", port, seconds)
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def _plc_poller() -> AsyncIterator[ControllerPoller]:
    """A poller on a pymodbus PLC in its own process, with one rw FLOAT setpoint at 40001."""
    port = free_port()
    plc = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "tests.bench.sim_process", "modbus",
                                                     str(port), "10"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert plc.stdout is not None and plc.stdout.readline().strip() == "ready"
    driver_class = driver_for("modbus-tcp")
    controller = Controller(name="PLC1", protocol="modbus-tcp", endpoint=f"127.0.0.1:{port}", timeout=5.0)
    measure = Measure(name="SP", controller="PLC1", group="g", address="40002", type=DataType.FLOAT, access="rw")
    driver = driver_class(controller.endpoint, controller.timeout, parse_args(driver_class, controller.args))
    poller = ControllerPoller(controller, [measure], driver, LatestValues())
    try:
        assert await poller.poll_once()
        yield poller
    finally:
        await driver.close()
        plc.terminate()
        plc.wait(10)


async def _write_latency(writes: int) -> tuple[float, float]:
    """Return the mean seconds of a direct PLC write and of the same write through the slave."""
    from pymodbus.client import AsyncModbusTcpClient

    async with _plc_poller() as poller:
        writer = PlcWriter([poller])
        started = time.perf_counter()
        for i in range(writes):
            [result] = await writer.apply({"PLC1": {"SP": float(i)}})
            assert result["result"] == "OK", result
        direct = (time.perf_counter() - started) / writes
        port = free_port()
        settings = ModbusServerSettings(host="127.0.0.1", port=port,
                                        map=[{"controller": "PLC1", "measure": "SP", "address": "400001"}])
        measures = [ServedMeasure("PLC1", "SP", DataType.FLOAT, 0, "utf-8", writable=True)]
        service = ModbusSlaveService(settings, measures, DataAccess(poller.latest, writer))
        task = asyncio.create_task(service.run())
        await asyncio.sleep(0.5)
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
        await client.connect()
        try:
            started = time.perf_counter()
            for i in range(writes):
                words = list(struct.unpack(">2H", struct.pack(">f", float(i))))
                assert not (await client.write_registers(0, words, device_id=1)).isError()
            through_slave = (time.perf_counter() - started) / writes
        finally:
            client.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return direct, through_slave


@dataclass
class Pushed:
    """Value changes made over a window, this process's CPU for them, and what the client saw."""

    label: str
    changes: int
    notified: int
    cpu: float

    @property
    def cpu_us_per_change(self) -> float:
        return self.cpu / self.changes * 1e6


async def _opcua_client(url: str, seconds: float, count: int) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.bench_services", "--opcua-client", url, str(seconds), str(count),
        cwd=REPO, stdout=subprocess.PIPE)
    out, _ = await process.communicate()
    return int(out.decode().strip().splitlines()[-1] or 0)


async def _opcua_push(count: int, seconds: float, state_dir: Path) -> tuple[Pushed, Pushed]:
    """Run the gateway's OPC UA server over ``count`` changing readings; measure its push, then
    asyncua's direct writes of the same variables."""

    from gateway_plugins.opcua.server import OpcUaServerService
    from gateway_plugins.opcua.server_settings import OpcUaServerSettings
    from gateway_plugins.opcua.server_space import _data_value, _time

    latest = LatestValues()
    names = [f"t{i}" for i in range(count)]
    readings = latest.readings_of("PLC1", names)
    measures = [ServedMeasure("PLC1", name, DataType.DOUBLE, 0, "utf-8", writable=False) for name in names]
    port = free_port()
    settings = OpcUaServerSettings(host="127.0.0.1", port=port, allow_unencrypted=True, allow_anonymous=True)
    service = OpcUaServerService(settings, measures, DataAccess(latest, PlcWriter([]), "bench", state_dir))
    task = asyncio.create_task(service.run())
    while not service.state.startswith("listening"):
        await asyncio.sleep(0.2)
    url = f"opc.tcp://127.0.0.1:{port}/"

    async def changing(write: Any) -> Pushed:
        client = asyncio.create_task(_opcua_client(url, seconds + 4, count))
        await asyncio.sleep(4)  # the client connects and subscribes to every node
        cpu, made, tick = time.process_time(), 0, 0
        start = time.perf_counter()
        while time.perf_counter() < start + seconds:
            tick += 1
            await write(tick)
            made += count
            await asyncio.sleep(max(0.0, start + tick - time.perf_counter()))  # a change a second, if it keeps up
        return Pushed("", made, await client, time.process_time() - cpu)

    async def by_polls(tick: int) -> None:
        latest.record_good({name: float(tick) + i / 1000 for i, name in enumerate(names)}, readings, time.time())
        await asyncio.sleep(0)  # let the push task take them up

    space = service.space

    async def directly(tick: int) -> None:
        for count, variable in enumerate(space.variables.values(), start=1):
            variable.reading.value = -float(tick)
            await space.server.write_attribute_value(variable.node_id, _data_value(variable, _time(time.time())))
            if count % 200 == 0:
                await asyncio.sleep(0)

    try:
        ours = await changing(by_polls)
        ours.label = "gateway's push (watched polls)"
        theirs = await changing(directly)
        theirs.label = "asyncua's write_attribute_value"
        return ours, theirs
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _opcua_client_main(url: str, seconds: float, count: int) -> None:
    """The SCADA: subscribe to every variable and print how many changes it was notified of."""
    from asyncua import Client

    async def run() -> int:
        notified = 0

        class Handler:
            def datachange_notification(self, _node: Any, _value: Any, _data: Any) -> None:
                nonlocal notified
                notified += 1
        async with Client(url, timeout=30) as client:
            ns = await client.get_namespace_index("urn:edge-gateway:measures")
            subscription = await client.create_subscription(500, Handler())
            nodes = [client.get_node(f"ns={ns};s=PLC1.t{i}") for i in range(count)]
            for start in range(0, count, 1000):
                await subscription.subscribe_data_change(nodes[start:start + 1000], queuesize=1)
            await asyncio.sleep(seconds - 3)
            before = notified
            await asyncio.sleep(3)
            return before  # what came while the server was changing values (the tail is not counted twice)

    print(asyncio.run(run()))


def _client_main(port: int, seconds: float, registers: int) -> None:
    """The SCADA: read ``READ_COUNT`` input registers at a time, round the map; print the count."""
    from pymodbus.client import ModbusTcpClient

    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    assert client.connect()
    done, address, deadline = 0, 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        answer = client.read_input_registers(address, count=READ_COUNT, device_id=1)
        assert not answer.isError(), answer
        done += 1
        address = (address + READ_COUNT) % (registers - READ_COUNT)
    client.close()
    print(done)


async def main(seconds: float, writes: int) -> None:
    slave = await _slave_reads(seconds)
    plain = await _plain_server_reads(seconds)
    print(f"Modbus slave: reads of {READ_COUNT} registers from {TAGS:,} FLOAT measures, one client, {seconds:g} s")
    print(f"{'':36}{'requests/s':>12} {'CPU µs/request':>15}")
    for run in (slave, plain):
        print(f"{run.label:36}{run.per_second:>12,.0f} {run.cpu_us_per_request:>15.0f}")
    print(f"{'':36}the slave answers {slave.per_second / plain.per_second:.2f}x the requests/s at "
          f"{slave.cpu_us_per_request / plain.cpu_us_per_request:.2f}x the CPU per request")
    direct, through = await _write_latency(writes)
    print(f"Modbus slave: a SCADA write of a FLOAT, {writes} writes: the PLC write alone {direct * 1e3:.2f} ms, "
          f"through the slave {through * 1e3:.2f} ms: the slave adds {(through - direct) * 1e3:.2f} ms")
    with tempfile.TemporaryDirectory() as state:
        ours, theirs = await _opcua_push(OPCUA_VARIABLES, seconds, Path(state))
    print(f"OPC UA server: {OPCUA_VARIABLES:,} variables changing every second, one subscribed client, {seconds:g} s")
    print(f"{'':36}{'changes':>10} {'notified':>10} {'CPU µs/change':>14}")
    for push in (ours, theirs):
        print(f"{push.label:36}{push.changes:>10,} {push.notified:>10,} {push.cpu_us_per_change:>14.1f}")
    print(f"{'':36}the gateway's push costs {ours.cpu_us_per_change / theirs.cpu_us_per_change:.2f}x asyncua's "
          "own write per change")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", nargs=3, metavar=("PORT", "SECONDS", "REGISTERS"))
    parser.add_argument("--opcua-client", nargs=3, metavar=("URL", "SECONDS", "COUNT"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writes", type=int, default=200)
    options = parser.parse_args()
    if options.client:
        _client_main(int(options.client[0]), float(options.client[1]), int(options.client[2]))
    elif options.opcua_client:
        _opcua_client_main(options.opcua_client[0], float(options.opcua_client[1]), int(options.opcua_client[2]))
    else:
        asyncio.run(main(options.seconds, options.writes))

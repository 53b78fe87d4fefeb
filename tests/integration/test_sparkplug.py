"""The gateway as a Sparkplug B edge node on Mosquitto, watched by a host application of the
tests' own (tests/sparkplug_host.py reads every message by the specification's field numbers):
births, data on change, sequence numbers, commands, device death and rebirth, the NDEATH, and
store and forward across a broker outage."""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path
from typing import Any

import paho.mqtt.publish as mqtt_publish

from gateway.demo.broker import MosquittoBroker
from tests.conftest import Subscriber, free_port, restartable_port
from tests.integration.gateway_harness import running_gateway, still_modbus_plc, write_config
from tests.sparkplug_host import HostPayload, command, parse
from tests.waiting import until

PLC_VALUES = {"Temp": 21.5, "Speed": 1450, "Setpoint": 40.0, "Pump": True}
BASE = "spBv1.0/plant"


def _config(tmp_path: Path, plc_port: int, broker_port: int) -> dict[str, Any]:
    def measure(name: str, address: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "controller": "PLC1", "group": "g", "address": address, "type": kind, **extra}

    return {
        "gateway": {"name": "line7", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "PLC1", "protocol": "modbus-tcp", "endpoint": f"127.0.0.1:{plc_port}",
                         "sample_period": 0.1, "timeout": 0.5}],
        "measures": [measure("Temp", "40001", "FLOAT", deadband=0.5), measure("Speed", "40003", "INT"),
                     measure("Setpoint", "40010", "FLOAT", access="rw"), measure("Pump", "00001", "BIT")],
        "groups": [{"name": "g", "upload_interval": 10}],
        "clouds": [{"name": "scada", "type": "sparkplug", "host": "127.0.0.1", "port": broker_port,
                    "client_id": "line7-node", "sparkplug": {"group_id": "plant"}}],
    }


class Host:
    """The host application: every Sparkplug message of the group, in arrival order."""

    def __init__(self, port: int) -> None:
        self.subscriber = Subscriber(port, f"{BASE}/#", client_id=f"host-{free_port()}")
        self.seen: list[tuple[str, HostPayload]] = []

    async def next(self, kind: str, timeout: float = 15.0) -> HostPayload:
        """Return the next message whose topic has ``kind`` (NBIRTH, DDATA...), keeping the others."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} within {timeout:g} s; seen {[t for t, _ in self.seen[-8:]]}")
            try:
                message = await asyncio.to_thread(self.subscriber.get, min(remaining, 1.0))
            except queue.Empty:
                continue
            payload = parse(message.payload)
            self.seen.append((message.topic, payload))
            if message.topic.split("/")[2] == kind:
                return payload

    def sessions(self) -> list[list[int | None]]:
        """The seq of every message the node sent, a list from each NBIRTH on (NDEATH has none,
        and the commands are the host's)."""
        found: list[list[int | None]] = []
        for topic, payload in self.seen:
            kind = topic.split("/")[2]
            if kind == "NBIRTH":
                found.append([])
            if kind not in ("NDEATH", "NCMD", "DCMD") and found:
                found[-1].append(payload.seq)
        return found


async def test_births_data_commands_and_death_as_a_host_sees_them(tmp_path: Path, broker: MosquittoBroker) -> None:
    plc_port = free_port()
    path = write_config(tmp_path, _config(tmp_path, plc_port, broker.port))
    plc = await still_modbus_plc(path, plc_port, PLC_VALUES)
    host = Host(broker.port)
    try:
        async with running_gateway(path):
            nbirth = await host.next("NBIRTH")
            assert nbirth.seq == 0
            bd_seq = nbirth.by_name()["bdSeq"].value
            assert nbirth.by_name()["Node Control/Rebirth"].value is False
            dbirth = await host.next("DBIRTH")
            assert host.seen[-1][0] == f"{BASE}/DBIRTH/line7/PLC1" and dbirth.seq == 1
            metrics = dbirth.by_name()
            assert {name: (m.datatype, m.value) for name, m in metrics.items()} == {
                "Temp": (9, 21.5), "Speed": (2, 1450), "Setpoint": (9, 40.0), "Pump": (11, True)}
            aliases = {m.alias: name for name, m in metrics.items()}

            plc.set_value("Temp", 21.7)  # within the deadband of 0.5: no DDATA for it
            plc.set_value("Speed", 1500)
            ddata = await host.next("DDATA")
            assert [(aliases[m.alias], m.value) for m in ddata.metrics] == [("Speed", 1500)]
            plc.set_value("Temp", 23.0)
            ddata = await host.next("DDATA")
            assert [(aliases[m.alias], m.value) for m in ddata.metrics] == [("Temp", 23.0)]

            await asyncio.to_thread(mqtt_publish.single, f"{BASE}/DCMD/line7/PLC1",
                                    command([("Setpoint", 9, 55.5)]), qos=1, hostname="127.0.0.1", port=broker.port)
            await until(lambda: plc.get_value("Setpoint") == 55.5, "the DCMD write on the PLC", 10)
            ddata = await host.next("DDATA")  # the next poll reports what the PLC holds
            assert [(aliases[m.alias], m.value) for m in ddata.metrics] == [("Setpoint", 55.5)]

            await asyncio.to_thread(mqtt_publish.single, f"{BASE}/NCMD/line7", command([
                ("Node Control/Rebirth", 11, True)]), qos=1, hostname="127.0.0.1", port=broker.port)
            rebirth = await host.next("NBIRTH")
            assert rebirth.seq == 0 and rebirth.by_name()["bdSeq"].value == bd_seq
            assert (await host.next("DBIRTH")).by_name()["Setpoint"].value == 55.5

            await plc.stop()  # the PLC goes away: its device dies, and is born again when it is back
            await host.next("DDEATH")
            plc = await still_modbus_plc(path, plc_port, {**PLC_VALUES, "Setpoint": 55.5})
            reborn = await host.next("DBIRTH")
            assert reborn.by_name()["Temp"].value == 21.5
        ndeath = await host.next("NDEATH")  # said on leaving, with the session's bdSeq
        assert ndeath.by_name()["bdSeq"].value == bd_seq and ndeath.seq is None
        sessions = host.sessions()  # the first connection's, and the rebirth's: each counts from 0 unbroken
        assert len(sessions) == 2 and all(seqs == list(range(len(seqs))) for seqs in sessions), sessions
    finally:
        host.subscriber.close()
        await plc.stop()


async def test_data_from_an_outage_follows_the_new_births_marked_historical(tmp_path: Path) -> None:
    broker = MosquittoBroker(restartable_port(), extra_config="allow_anonymous true\n")
    broker.start()
    plc_port = free_port()
    path = write_config(tmp_path, _config(tmp_path, plc_port, broker.port))
    plc = await still_modbus_plc(path, plc_port, PLC_VALUES)
    host = Host(broker.port)
    try:
        async with running_gateway(path) as gateway:
            first = await host.next("NBIRTH")
            await host.next("DBIRTH")
            connector = gateway.connectors["scada"]
            broker.stop()
            await until(lambda: not connector.state.connected, "the gateway to notice the outage", 10)
            plc.set_value("Speed", 1600)  # changes while the broker is away: kept in the outbox
            assert gateway.outbox is not None
            await until(lambda: gateway.outbox is not None and gateway.outbox.depth >= 1, "the outage's data", 10)
            broker.start()
            host.subscriber.close()
            host = Host(broker.port)
            second = await host.next("NBIRTH", 30)
            assert second.by_name()["bdSeq"].value == (first.by_name()["bdSeq"].value + 1) % 256
            await host.next("DBIRTH")
            ddata = await host.next("DDATA")
            assert ddata.seq == 2 and [m.value for m in ddata.metrics] == [1600]
            assert all(m.is_historical for m in ddata.metrics)  # from before the births that came first
    finally:
        host.subscriber.close()
        await plc.stop()
        broker.close()

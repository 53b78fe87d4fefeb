"""The southbound benchmark still runs, and planning really cuts the requests (small sizes, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gateway_plugins.melsec.planning import narrow as melsec_narrow
from gateway_plugins.modbus.planning import narrow as modbus_narrow
from gateway_plugins.s7.planning import narrow as s7_narrow
from tests.bench.bench_southbound import (
    _bench,
    _delivery_report,
    _one_node_per_read,
    _one_request_per_tag,
    _one_tag_per_request,
    _report,
    _subscription_bench,
)
from tests.bench.tags import logix_tags, melsec_tags, modbus_tags, opcua_tags, s7_tags


async def test_benchmark_runs_on_small_tag_sets() -> None:
    modbus = await _bench("modbus", "modbus-tcp", modbus_tags(300), _one_request_per_tag(modbus_narrow), {}, 2, 1)
    s7 = await _bench("s7", "s7", s7_tags(300), _one_request_per_tag(s7_narrow), {}, 2, 1)
    opcua = await _bench("opcua", "opcua", opcua_tags(300), _one_node_per_read, {"max_nodes_per_read": 100}, 2, 1)
    assert [run.requests for run in modbus] == [5, 300]  # 600 registers in blocks of at most 125
    assert s7[0].requests == 3 and s7[1].requests == 300  # one range per DB at a 480-byte PDU
    logix = await _bench("logix", "ethernet-ip", logix_tags(60), _one_tag_per_request, {}, 2, 1)
    assert [run.requests for run in opcua] == [3, 300]
    melsec = await _bench("melsec", "mc-3e", melsec_tags(600), _one_request_per_tag(melsec_narrow), {}, 2, 1)
    assert [run.requests for run in logix] == [1, 60]  # 60 tags fit one large connection's request
    assert [run.requests for run in melsec] == [2, 600]  # 1,200 words in reads of at most 960
    assert "planned is" in _report([modbus, s7, opcua, logix, melsec])


async def test_subscription_benchmark_counts_the_values_that_changed() -> None:
    subscribed, polled = await _subscription_bench(200, 3.0)
    for run in (subscribed, polled):  # values change every second; how many arrive depends on the machine's pace
        assert 0 < run.changed <= 200 * 4 and run.cpu > 0
    assert "subscription takes" in _delivery_report(subscribed, polled)


async def test_outbox_benchmark_pieces_run(tmp_path: Path) -> None:
    """Small sizes, no timing: the enqueue and drain measurements still work end to end."""
    from gateway.demo.broker import MosquittoBroker
    from tests.bench import bench_outbox
    from tests.conftest import free_port

    assert await bench_outbox._enqueue_outbox(tmp_path) > 0
    assert bench_outbox._enqueue_raw(tmp_path / "raw", cycles=2) > 0
    broker = MosquittoBroker(free_port())
    broker.start()
    try:
        assert bench_outbox._drain_raw_paho(broker.port) > 0
        assert await bench_outbox._drain_connector(tmp_path, broker.port) > 0
    finally:
        broker.close()


async def test_script_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.bench import bench_scripts

    await bench_scripts.main(calls=20)
    assert "round trip through the worker" in capsys.readouterr().out


async def test_history_benchmark_runs_on_a_small_history(tmp_path: Path) -> None:
    """Three measures over an hour: the build, both queries and the ingest still work, no timing."""
    from tests.bench import bench_history

    report = await bench_history.run(3, 1 / 24, tmp_path)
    assert "3 measures x 3,600 s = 10,800 samples" in report and "of the baseline's time" in report


def test_end_to_end_benchmark_runs_on_a_small_plant() -> None:
    """The real gateway in its own process: every tag polled and delivered, UI changes taken up."""
    from tests.bench.bench_end_to_end import run_scenario

    result = run_scenario("2x500", sys.executable, 2, 500, 3.0)
    assert result.polled > 500 and result.delivered > 500  # both PLCs, about 1,000 tags/s
    assert result.worker_rss > 0 and result.age_p99 < 5
    assert result.controller_change > 0 and result.measure_change > 0


async def test_services_benchmark_serves_reads_and_writes_through() -> None:
    from tests.bench.bench_services import _plain_server_reads, _slave_reads, _write_latency

    slave, plain = await _slave_reads(1.0), await _plain_server_reads(1.0)
    assert slave.requests > 0 and plain.requests > 0  # the client's every read was answered (it asserts so)
    direct, through_slave = await _write_latency(5)
    assert direct > 0 and through_slave > 0


async def test_iotgo_benchmark_drains_both_kinds_of_device() -> None:
    """Small sizes, no timing: every committed update is delivered, the DIY device's with a query."""
    from tests.bench import bench_iotgo

    factory, diy = await bench_iotgo.run(30)
    assert factory.updates == diy.updates == 30 and factory.cpu > 0 and diy.cpu > 0
    assert "a DIY update with its query takes" in bench_iotgo.report(factory, diy)

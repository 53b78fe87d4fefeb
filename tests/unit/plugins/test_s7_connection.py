"""S7 against python-snap7's server: rack/slot and TSAP addressing, reads re-planned for the negotiated PDU."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.southbound import DataType, Point
from gateway_plugins.s7.driver import S7Args, S7Driver
from gateway_plugins.s7.simserver import S7SimServer
from tests.conftest import free_port
from tests.unit.plugins.reading import read_once

# 100 REALs: 400 contiguous bytes of DB5, more than one 240-byte PDU carries
POINTS = [Point(f"R{i}", f"DB5.{4 * i}", DataType.FLOAT) for i in range(100)]


@pytest.mark.parametrize("args", [S7Args(rack=0, slot=1), S7Args(tsap_local="10.00", tsap_remote="20.00")])
async def test_reads_use_the_negotiated_pdu(args: S7Args) -> None:
    port = free_port()
    server = S7SimServer(POINTS, "127.0.0.1", port, moving=lambda _p: False)
    for i, point in enumerate(POINTS):
        server.set_value(point.name, i + 0.5)
    await server.start()
    driver = S7Driver(f"127.0.0.1:{port}", 1.0, args)
    plan = S7Driver.plan(POINTS, args)
    assert plan.request_count == 2  # planned for the 240-byte minimum every CPU offers
    result = await read_once(driver, plan, server)
    assert plan.pdu_size == 480 and plan.request_count == 1  # this PLC negotiated 480
    assert result.values == {p.name: i + 0.5 for i, p in enumerate(POINTS)}


async def test_a_configured_pdu_size_caps_the_plan() -> None:
    port = free_port()
    server = S7SimServer(POINTS, "127.0.0.1", port)
    await server.start()
    args = S7Args(pdu_size=240)
    driver = S7Driver(f"127.0.0.1:{port}", 1.0, args)
    plan = S7Driver.plan(POINTS, args)
    result = await read_once(driver, plan, server)
    assert plan.request_count == 2 and len(result.values) == 100


@pytest.mark.parametrize(("raw", "reason"), [
    ({"tsap_local": "10.00"}, "give both tsap_local and tsap_remote"),
    ({"tsap_local": "1000", "tsap_remote": "20.00"}, "is not a TSAP"),
    ({"pdu_size": 100}, "greater than or equal to 240"),
])
def test_bad_connection_args_are_explained(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        S7Args.model_validate(raw)

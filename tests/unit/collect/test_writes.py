"""write_plc_values resolution: per-value results with Device Supervisor's fields."""

from __future__ import annotations

from gateway.collect import ControllerPoller
from gateway.collect.writes import PlcWriter
from gateway.config.schema import Controller, Measure
from gateway.core.latest import LatestValues
from gateway_plugins.simulator.driver import SimulatorArgs, SimulatorDriver


def _writer() -> tuple[PlcWriter, dict[str, ControllerPoller]]:
    measures = [
        Measure(name="SP1", controller="A", group="g", address="sine", type="FLOAT", access="rw"),
        Measure(name="Temp", controller="A", group="g", address="sine", type="FLOAT"),
        Measure(name="Mode", controller="A", group="g", address="sine", type="INT", access="rw"),
        Measure(name="Mode", controller="B", group="g", address="sine", type="INT", access="rw"),
    ]
    pollers = {}
    for name in ("A", "B"):
        controller = Controller(name=name, protocol="simulator", endpoint="local")
        own = [m for m in measures if m.controller == name]
        driver = SimulatorDriver("local", 1.0, SimulatorArgs())
        pollers[name] = ControllerPoller(controller, own, driver, LatestValues())
    return PlcWriter(list(pollers.values())), pollers


async def test_results_per_value() -> None:
    writer, pollers = _writer()
    results = await writer.apply({"SP1": 1.5, "Temp": 3, "Nope": 1, "Mode": 2, "B": {"Mode": 4}})
    assert [(r["device"], r["var_name"], r["value"], r["result"]) for r in results] == [
        ("A", "SP1", 1.5, "OK"), ("A", "Temp", 3, "Failed"), ("", "Nope", 1, "Failed"),
        ("", "Mode", 2, "Failed"), ("B", "Mode", 4, "OK"),
    ]
    errors = [r["error"] for r in results]
    assert errors[0] == "" and "read-only" in errors[1] and "unknown measure" in errors[2]
    assert "several controllers" in errors[3]
    assert await pollers["A"].poll_once() and pollers["A"].latest.get("A", "SP1").value == 1.5
    assert await pollers["B"].poll_once() and pollers["B"].latest.get("B", "Mode").value == 4


async def test_values_that_do_not_fit_are_refused_per_value() -> None:
    writer, _pollers = _writer()
    results = await writer.apply({"A": {"Mode": 70000}, "B": {"Mode": "fast"}, "SP1": 2.5})
    assert [r["result"] for r in results] == ["Failed", "Failed", "OK"]
    assert "out of range for INT" in results[0]["error"]
    assert "not a number" in results[1]["error"]

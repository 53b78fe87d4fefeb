"""The three forms a Device Supervisor script writes PLC values in, and the two result shapes.

``{"SP1": 12}`` and ``{"PLC1": {"SP1": 12}}`` are answered one ``{"device", "var_name", "result":
"OK"|"Failed", "error"}`` per value; ``[{"name": "PLC1", "measures": [{"name": "SP1", "value":
12}]}]`` (the event bus form) is answered ``[{"name": "PLC1", "measures": [{"name", "error_code":
0 | 1, "error_reason"}]}]``. A write that does not end within its timeout is answered
:data:`WRITE_TIMED_OUT`, as Device Supervisor answers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

WRITE_TIMED_OUT = ("error", -110, "timeout")
# how a write's results are answered: wizard_api's (error "" when written), quickfaas' (error
# "Success" when written, as Device Supervisor 2.x says), or by controller (the event bus form)
ResultShape = Literal["ds1", "ds2", "by_controller"]
RESULT_SHAPES: tuple[ResultShape, ...] = get_args(ResultShape)
SHORTEST_WRITE, LONGEST_WRITE = 0.1, 3600.0  # seconds a write may be given to end


def write_timeout(seconds: Any) -> float:
    """A script's write timeout, kept within what a write may wait; raise ValueError for no number.
    Device Supervisor 1.x's own example writes with 0.5 s."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds != seconds:
        raise ValueError(f"a write's timeout is a number of seconds, not {seconds!r}")
    return float(min(max(seconds, SHORTEST_WRITE), LONGEST_WRITE))


def write_values(message: Any) -> tuple[dict[str, Any], bool]:
    """Return ``message`` as ``{measure: value}`` or ``{controller: {measure: value}}``, and whether
    it came in the event bus form (its results are then shaped by controller); raise ValueError
    for anything else."""
    if isinstance(message, Mapping) and message:
        return dict(message), False
    if isinstance(message, list | tuple) and message:
        values: dict[str, dict[str, Any]] = {}
        for controller in message:
            if not (isinstance(controller, Mapping) and isinstance(controller.get("name"), str)
                    and isinstance(controller.get("measures"), list | tuple)):
                break
            for measure in controller["measures"]:
                if not (isinstance(measure, Mapping) and isinstance(measure.get("name"), str) and "value" in measure):
                    break
                values.setdefault(controller["name"], {})[measure["name"]] = measure["value"]
            else:
                continue
            break
        else:
            return values, True
    raise ValueError('write a dict like {"SP1": 12} or {"PLC1": {"SP1": 12}}, or a list like '
                     '[{"name": "PLC1", "measures": [{"name": "SP1", "value": 12}]}]')


def shaped_results(results: list[dict[str, Any]], shape: ResultShape) -> list[dict[str, Any]]:
    """Return per-value write results (wizard_api's shape) in ``shape``."""
    if shape == "by_controller":
        return results_by_controller(results)
    if shape == "ds2":
        return [{**r, "error": "Success"} if r.get("result") == "OK" else r for r in results]
    return results


def results_by_controller(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return per-value write results in the event bus shape, controllers in the order written."""
    shaped: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        ok = result.get("result") == "OK"
        shaped.setdefault(str(result.get("device", "")), []).append(
            {"name": result.get("var_name"), "error_code": 0 if ok else 1,
             "error_reason": "Success" if ok else str(result.get("error", ""))})
    return [{"name": name, "measures": measures} for name, measures in shaped.items()]

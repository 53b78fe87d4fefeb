"""Script call benchmark: a publish script's round trip through the worker against the same call
in-process, in one run (docs/design.md section 8: at most 1 ms median through the worker).

    python -m tests.bench.bench_scripts        (or: make bench)
"""

from __future__ import annotations

import asyncio
import statistics
import time

from gateway.core.messages import CallContext
from gateway.scripting import ScriptRunner
from gateway.scripting.host import ScriptHost
from tests.conftest import REPO

CALLS = 2000
DATA = {
    "timestamp": 1589538347.56, "group_name": "default",
    "values": {f"PLC{c}": {f"T{m}": {"raw_data": 20.5 + m, "timestamp": 1589538347, "status": 1}
                            for m in range(10)} for c in range(2)},
}
CONTEXT = CallContext("upload", "default", "awsiot/test", 1)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[int(len(ordered) * 0.99)] * 1e3


async def main(calls: int = CALLS) -> None:
    source = (REPO / "scripts" / "vars_upload_test.py").read_text()
    host = ScriptHost(lambda *_: False, cpu_seconds=10)
    host.load("upload", source, "vars_upload_test.py", "vars_upload_test")
    in_process = []
    for _ in range(calls):
        started = time.perf_counter()
        host.call("publish", "upload", [DATA], CONTEXT)
        in_process.append(time.perf_counter() - started)
    runner = ScriptRunner(lambda *_: False)
    runner.load("upload", source, "vars_upload_test.py", "vars_upload_test")
    await runner.call_publish("upload", DATA, CONTEXT)  # start the worker
    through_worker = []
    try:
        for _ in range(calls):
            started = time.perf_counter()
            outcome = await runner.call_publish("upload", DATA, CONTEXT)
            through_worker.append(time.perf_counter() - started)
            assert outcome.error is None and len(outcome.messages) == 1
    finally:
        await runner.close()
    for label, samples in (("in-process call", in_process), ("round trip through the worker", through_worker)):
        median, p99 = _percentiles(samples)
        print(f"{label:32} median {median:6.3f} ms   p99 {p99:6.3f} ms")
    print(f"{'':32} the worker adds {(_percentiles(through_worker)[0] - _percentiles(in_process)[0]):.3f} ms "
          f"to the median call ({calls} calls, 2 controllers x 10 measures)")


if __name__ == "__main__":
    asyncio.run(main())

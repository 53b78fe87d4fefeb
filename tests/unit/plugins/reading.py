"""Read a plan once from a simulated PLC, then close the driver and stop the simulator."""

from __future__ import annotations

from typing import Any, Protocol

from gateway.southbound import Driver, ReadPlan, ReadResult


class Stoppable(Protocol):
    async def stop(self) -> None: ...


async def read_once(driver: Driver, plan: ReadPlan, server: Stoppable | Any) -> ReadResult:
    """Connect, read ``plan`` once, and always clean up."""
    try:
        await driver.connect()
        return await driver.read(plan)
    finally:
        await driver.close()
        await server.stop()

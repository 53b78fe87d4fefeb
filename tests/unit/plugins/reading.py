"""Read a plan once from a simulated PLC, then close the driver and stop the simulator."""

from __future__ import annotations

from typing import Protocol

from gateway.southbound import Driver, ReadPlan, ReadResult


class Stoppable(Protocol):
    async def stop(self) -> None: ...


async def read_once(driver: Driver, plan: ReadPlan, server: Stoppable) -> ReadResult:
    """Connect, read ``plan`` once, and always clean up."""
    try:
        await driver.connect()
        return await driver.read(plan)
    finally:
        await driver.close()
        await server.stop()

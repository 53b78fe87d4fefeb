"""What a data service sees of the gateway: the latest readings, and writes to the PLCs through
the same checks as a script's ``write_plc_values``."""

from __future__ import annotations

from typing import Protocol

from gateway.core.latest import LatestValues, Reading


class PlcWrites(Protocol):
    """The gateway's PLC writer (:class:`gateway.collect.writes.PlcWriter`)."""

    async def apply(self, request: dict[str, dict[str, object]]) -> list[dict[str, object]]: ...


class DataAccess:
    """Readings to serve and writes to carry out, for every data service."""

    def __init__(self, latest: LatestValues, writer: PlcWrites) -> None:
        self._latest, self._writer = latest, writer

    def reading(self, controller: str, measure: str) -> Reading:
        """Return the measure's reading (the same object every time: it is updated in place)."""
        return self._latest.get(controller, measure)

    async def write(self, controller: str, measure: str, value: object) -> str | None:
        """Write ``value`` to the PLC; return None once the PLC took it, else why not."""
        [result] = await self._writer.apply({controller: {measure: value}})
        return None if result.get("result") == "OK" else str(result.get("error") or "the write failed")


def is_good(reading: Reading) -> bool:
    """Return True when the device really said this value: the last read succeeded (a value the
    device calls bad never becomes a reading; an uncertain one is served as it is)."""
    return reading.status == 1 and reading.value is not None

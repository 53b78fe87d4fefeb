"""What a data service sees of the gateway: the latest readings, and writes to the PLCs through
the same checks as a script's ``write_plc_values``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from gateway.core.latest import LatestValues, Reading


class PlcWrites(Protocol):
    """The gateway's PLC writer (:class:`gateway.collect.writes.PlcWriter`)."""

    async def apply(self, request: dict[str, dict[str, object]], by: str = ...) -> list[dict[str, object]]: ...


class DataAccess:
    """Readings to serve and writes to carry out, for every data service; the gateway's name and
    where a service keeps its state (certificates)."""

    def __init__(self, latest: LatestValues, writer: PlcWrites, gateway_name: str = "gateway",
                 data_dir: Path | None = None) -> None:
        self._latest, self._writer = latest, writer
        self.gateway_name = gateway_name
        self._data_dir = data_dir

    def state_dir(self, service: str) -> Path:
        """Return (made if needed) the folder where ``service`` keeps what outlives a restart."""
        if self._data_dir is None:
            raise RuntimeError("this gateway keeps no state")
        folder = self._data_dir / "services" / service
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def watch(self, callback: Callable[[list[Reading]], None]) -> Callable[[], None]:
        """Call ``callback`` with the readings each poll changed (see :meth:`LatestValues.watch`)."""
        return self._latest.watch(callback)

    def reading(self, controller: str, measure: str) -> Reading:
        """Return the measure's reading (the same object every time: it is updated in place)."""
        return self._latest.get(controller, measure)

    async def write(self, controller: str, measure: str, value: object, by: str) -> str | None:
        """Write ``value`` to the PLC for ``by`` (who the audit log names: the service and, where
        it knows it, its client); return None once the PLC took it, else why not."""
        [result] = await self._writer.apply({controller: {measure: value}}, by=by)
        return None if result.get("result") == "OK" else str(result.get("error") or "the write failed")


def is_good(reading: Reading) -> bool:
    """Return True when the device really said this value: the last read succeeded (a value the
    device calls bad never becomes a reading; an uncertain one is served as it is)."""
    return reading.status == 1 and reading.value is not None

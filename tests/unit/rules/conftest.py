"""One rules stage built from a configuration, with its real parts: the script worker, a SQLite
outbox, and simulated-PLC pollers to write to. No cloud connection: what the rules commit is read
back from the outbox."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.collect import ControllerPoller
from gateway.collect.assembly import build_pollers
from gateway.collect.writes import PlcWriter
from gateway.config import LoadedConfig, parse_config
from gateway.config.identity import gateway_variables, global_parameters
from gateway.core.latest import LatestValues
from gateway.rules.outcomes import WriteApplier
from gateway.scripting import ScriptRunner
from gateway.scripting.loading import load_rule_scripts
from gateway.store import Outbox


@dataclass
class Stage:
    """The parts a rule works with."""

    config: LoadedConfig
    runner: ScriptRunner
    outbox: Outbox
    latest: LatestValues
    pollers: list[ControllerPoller]
    writes: WriteApplier
    variables: dict[str, str]
    parameters: dict[str, Any]

    async def committed(self, cloud: str = "default") -> list[tuple[str, Any]]:
        """Return (topic, payload as JSON or text) of every message committed for ``cloud``, in order."""
        rows = await self.outbox.fetch(cloud, 0, 10_000)
        return [(row.topic, _decoded(row.payload)) for row in rows]

    def plc_value(self, measure: str) -> Any:
        reading = self.latest.get("Sim", measure)
        return reading.value if reading else None


def _decoded(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode()


def stage_config(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """One simulated controller ``Sim`` (Level read-only, SP writable) in group ``g``, cloud
    ``default``, and the given rule sections."""
    return {
        "gateway": {"name": "rules", "data_dir": str(tmp_path / "state"), "labels": {"site": "test"}},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local"}],
        "measures": [{"name": "Level", "controller": "Sim", "group": "g", "address": "sine", "type": "FLOAT"},
                     {"name": "SP", "controller": "Sim", "group": "g", "address": "ramp", "type": "FLOAT",
                      "access": "rw"}],
        "groups": [{"name": "g"}],
        "clouds": [{"name": "default", "type": "mqtt", "host": "127.0.0.1", "port": 1883}],
        **sections,
    }


@contextlib.asynccontextmanager
async def running_stage(tmp_path: Path, **sections: Any) -> AsyncIterator[Stage]:
    """Build the stage of a configuration with ``sections``; stop its worker and close its outbox after."""
    config = parse_config(yaml.safe_dump(stage_config(tmp_path, **sections)), tmp_path / "config.yaml")
    latest = LatestValues()
    pollers = build_pollers(config.model, latest)
    runner = ScriptRunner(send_now=lambda *_: False, timeout=5)
    load_rule_scripts(config, runner)
    outbox = await Outbox.open(tmp_path / "outbox.db", 10_000, 64 * 2**20)
    try:
        for poller in pollers:
            await poller.poll_once()
        yield Stage(config, runner, outbox, latest, pollers, WriteApplier(runner, outbox, PlcWriter(pollers)),
                    gateway_variables(config.model), global_parameters(config.model))
    finally:
        await runner.close()
        await outbox.close()
        for poller in pollers:
            await poller.driver.close()

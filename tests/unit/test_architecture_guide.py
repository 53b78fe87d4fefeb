"""docs/architecture.md stays true: it describes every folder of gateway/, and its sample driver
is loaded by the registry, accepted by `gateway check`, and polled by a real poller against a
real TCP server of its protocol on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from gateway.collect.assembly import build_pollers
from gateway.config import parse_config
from gateway.core.errors import AddressError
from gateway.core.latest import LatestValues
from gateway.southbound import DataType, Driver, Point, available_protocols, driver_for
from tests.conftest import REPO
from tests.unit.test_layers import LAYERS

GUIDE = REPO / "docs" / "architecture.md"


def _sample_driver() -> str:
    section = GUIDE.read_text().split("## How to add a driver", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the driver walkthrough has no python sample"
    return match.group(1)


def test_every_folder_of_the_gateway_is_described() -> None:
    text = GUIDE.read_text()
    folders = sorted(p.name for p in (REPO / "gateway").iterdir() if (p / "__init__.py").exists())
    assert [f for f in folders if f"`gateway/{f}/`" not in text] == []
    described_layers = {name for _, layer in LAYERS for name in layer} - {"gateway", "gateway.__main__"}
    assert [n for n in described_layers if f"`{n.replace('.', '/')}" not in text] == []


@pytest.fixture
def line_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type[Driver]:
    """The guide's sample driver, registered as a third-party driver would be."""
    (tmp_path / "line_driver.py").write_text(_sample_driver())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(available_protocols(), "line", "line_driver:LineDriver")
    return driver_for("line")


@pytest.fixture
async def line_device() -> AsyncIterator[tuple[int, dict[int, str]]]:
    """A device of the sample protocol: registers answer GET with their text, SET with OK."""
    registers = {1: "21.5", 2: "7", 9: "garbage"}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            verb, register, *value = line.decode().split()
            if verb == "SET":
                registers[int(register)] = value[0]
                writer.write(b"OK\n")
            else:
                writer.write(registers.get(int(register), "0").encode() + b"\n")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], registers
    server.close()


def _config(port: int, tmp_path: Path, measures: list[dict[str, str]]) -> str:
    return yaml.safe_dump({
        "gateway": {"name": "guide", "data_dir": str(tmp_path / "state")},
        "controllers": [{"name": "Line1", "protocol": "line", "endpoint": f"127.0.0.1:{port}", "timeout": 2}],
        "measures": [{"controller": "Line1", "group": "g", **m} for m in measures],
        "groups": [{"name": "g"}],
    })


def test_the_sample_driver_checks_addresses(line_driver: type[Driver]) -> None:
    args = line_driver.args_model()
    line_driver.check_point(Point("T", "12", DataType.FLOAT), args)
    with pytest.raises(AddressError, match="not a register number"):
        line_driver.check_point(Point("T", "DB1.0", DataType.FLOAT), args)


async def test_the_sample_driver_is_polled_written_and_refuses_garbage(
        line_driver: type[Driver], line_device: tuple[int, dict[int, str]], tmp_path: Path) -> None:
    port, registers = line_device
    measures = [{"name": "Temp", "address": "1", "type": "FLOAT"},
                {"name": "Speed", "address": "2", "type": "INT", "access": "rw"}]
    loaded = parse_config(_config(port, tmp_path, measures), tmp_path / "config.yaml")
    latest = LatestValues()
    [poller] = build_pollers(loaded.model, latest)
    try:
        assert await poller.poll_once()
        temp, speed = latest.get("Line1", "Temp"), latest.get("Line1", "Speed")
        assert (temp.value, temp.status, speed.value, speed.status) == (21.5, 1, 7, 1)
        await poller.write("Speed", 9)
        assert registers[2] == "9"
    finally:
        await poller.driver.close()

    broken = parse_config(_config(port, tmp_path, [{"name": "Bad", "address": "9", "type": "FLOAT"}]),
                          tmp_path / "config.yaml")
    [garbage] = build_pollers(broken.model, LatestValues())
    try:
        assert not await garbage.poll_once()
    finally:
        await garbage.driver.close()
    assert garbage.health.last_error == "answer 'garbage' to GET 9 is not a number"

"""The scripts' tables (quickfaas.LWTSDB) answer as Device Supervisor documents, within their caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.errors import GatewayError
from gateway.store import script_tables
from gateway.store.script_tables import ScriptTables


def _row(ts: int, value: int) -> dict[str, object]:
    return {str(ts): {"controller1": {"measure1": [1, value], "measure2": [1, f"t{value}"]}}}


async def test_insert_query_filter_and_remove(tmp_path: Path) -> None:
    tables = await ScriptTables.open(tmp_path / "history.db")
    try:
        assert await tables.insert("default", [_row(100, 1), _row(200, 2)]) == {"return_code": 0, "return_msg": "okay"}
        await tables.insert("default", _row(300, 3))  # one {"<ts>": ...} without a list
        await tables.insert("other", [_row(150, 9)])
        everything = await tables.query("default")
        assert (everything["total"], everything["size"]) == (3, 3)
        assert [next(iter(r)) for r in everything["data"]] == ["100", "200", "300"]
        before = await tables.query("default", end=300)  # only an end: newest first
        assert [next(iter(r)) for r in before["data"]] == ["200", "100"]
        page = await tables.query("default", start=100, limit=1, offset=1)
        assert (page["total"], page["offset"], page["size"]) == (3, 1, 1) and "200" in page["data"][0]
        white = await tables.query("default", start=300,
                                   row_filter={"default": "deny_all", "white_list": {"controller1": ["measure2"]}})
        assert white["data"] == [{"300": {"controller1": {"measure2": [1, "t3"]}}}]
        black = await tables.query("default", start=300, row_filter={"black_list": {"controller1": ["measure2"]}})
        assert black["data"] == [{"300": {"controller1": {"measure1": [1, 3]}}}]
        await tables.remove("default", end=250)
        assert (await tables.query("default"))["total"] == 1
        await tables.remove("default")
        assert (await tables.query("default"))["total"] == 0 and (await tables.query("other"))["total"] == 1
    finally:
        await tables.close()


async def test_times_as_scripts_give_them(tmp_path: Path) -> None:
    tables = await ScriptTables.open(tmp_path / "history.db")
    try:
        await tables.insert("t", [_row(1673265600, 1)])  # 2023-01-09 12:00:00 UTC
        found = await tables.query("t", "2023-01-01 00:00:00", "2023-02-01 00:00:00")
        assert found["total"] == 1
        with pytest.raises(GatewayError, match="give seconds"):
            await tables.query("t", "yesterday")
    finally:
        await tables.close()


async def test_caps_keep_a_script_from_filling_the_flash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script_tables, "MAX_ROWS_PER_TABLE", 3)
    monkeypatch.setattr(script_tables, "MAX_TABLES", 2)
    tables = await ScriptTables.open(tmp_path / "history.db")
    try:
        await tables.insert("t", [_row(ts, ts) for ts in range(1, 6)])
        kept = await tables.query("t")
        assert [next(iter(r)) for r in kept["data"]] == ["3", "4", "5"]  # the oldest went first
        with pytest.raises(GatewayError, match="at most 65536"):
            await tables.insert("t", [{"9": {"c": {"m": [1, "x" * 70_000]}}}])
        await tables.insert("u", [_row(1, 1)])
        with pytest.raises(GatewayError, match="at most 2 tables"):
            await tables.insert("v", [_row(1, 1)])
        with pytest.raises(GatewayError, match="data is"):
            await tables.insert("t", ["not a row"])
    finally:
        await tables.close()

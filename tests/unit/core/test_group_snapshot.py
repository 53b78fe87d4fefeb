"""A group's snapshot as columns gives exactly Device Supervisor's data_collect, on either side of
the script worker's pipe, and refuses columns that do not fit the roster."""

from __future__ import annotations

import json

import pytest

from gateway.core.group_snapshot import GroupSnapshot, Roster

ROSTER = Roster((("PLC1", ("Temp", "Pump")), ("S7-1200", ("Test1",))))


def _snapshot(included: list[int] | None = None) -> GroupSnapshot:
    return GroupSnapshot("default", 1589538347.56, ROSTER, [21.5, True, None],
                         [1589538347261, 1589538347261, 1589538340007], [1, 1, 0], included)


def test_columns_give_device_supervisors_data_collect() -> None:
    assert _snapshot().data_collect() == {
        "timestamp": 1589538347.56, "timestampMsec": 1589538347560, "group_name": "default",
        "values": {
            "PLC1": {"Temp": {"raw_data": 21.5, "timestamp": 1589538347, "status": 1, "timestampMsec": 1589538347261},
                     "Pump": {"raw_data": True, "timestamp": 1589538347, "status": 1, "timestampMsec": 1589538347261}},
            "S7-1200": {"Test1": {"raw_data": None, "timestamp": 1589538340, "status": 0,
                                  "timestampMsec": 1589538340007}},
        },
    }


def test_only_the_included_positions_are_uploaded_and_an_emptied_controller_is_left_out() -> None:
    assert _snapshot(included=[1]).data_collect()["values"] == {
        "PLC1": {"Pump": {"raw_data": True, "timestamp": 1589538347, "status": 1, "timestampMsec": 1589538347261}}}
    assert _snapshot(included=[]).empty and not _snapshot().empty


def test_the_columns_and_the_roster_survive_json_as_the_worker_receives_them() -> None:
    roster = Roster.from_json(json.loads(json.dumps(ROSTER.to_json())))
    assert roster == ROSTER and roster.key == ROSTER.key
    columns = json.loads(json.dumps(_snapshot(included=[0, 2]).columns_json()))
    assert GroupSnapshot.from_columns_json(columns, roster).data_collect() == _snapshot([0, 2]).data_collect()


def test_columns_that_do_not_fit_the_roster_are_refused() -> None:
    columns = _snapshot().columns_json() | {"values": [1, 2]}
    with pytest.raises(ValueError, match="columns of 2, 3, 3 for a roster of 3"):
        GroupSnapshot.from_columns_json(columns, ROSTER)

"""Group snapshots have Device Supervisor's shape and honour the upload modes."""

from __future__ import annotations

from gateway.config.schema import Group, Measure
from gateway.core.clock import Clock
from gateway.core.group_snapshot import GroupSnapshot
from gateway.core.latest import LatestValues
from gateway.rules.uploader import GroupUploader


def _measure(name: str, upload: str = "periodic", deadband: float = 0.0, controller: str = "PLC1") -> Measure:
    return Measure(name=name, controller=controller, group="g", address="40001", type="FLOAT",
                   upload=upload, deadband=deadband)


async def _ignore(_snapshot: GroupSnapshot) -> None:
    return None


def test_snapshot_shape_and_failed_reads() -> None:
    latest = LatestValues()
    latest.set_good("PLC1", "Temp", 21.5, 1000.7)
    latest.set_good("S7", "Run", True, 1000.2)
    latest.set_failed("S7", "Run", "timeout", 1001.0)
    measures = [_measure("Temp"), _measure("Run", controller="S7"), _measure("Never", "never")]
    uploader = GroupUploader(Group(name="g"), measures, latest, _ignore, clock=Clock(now=lambda: 1002.5))
    assert uploader.snapshot().data_collect() == {
        "timestamp": 1002.5, "timestampMsec": 1002500, "group_name": "g",
        "values": {
            "PLC1": {"Temp": {"raw_data": 21.5, "timestamp": 1000, "status": 1, "timestampMsec": 1000700}},
            "S7": {"Run": {"raw_data": True, "timestamp": 1001, "status": 0, "timestampMsec": 1001000}},
        },
    }


def test_onchange_uploads_only_moves_beyond_the_deadband() -> None:
    latest = LatestValues()
    uploader = GroupUploader(Group(name="g"), [_measure("T", "onchange", deadband=0.5)], latest, _ignore)

    def uploaded(value: float) -> bool:
        latest.set_good("PLC1", "T", value, 1.0)
        return "T" in uploader.snapshot().data_collect()["values"].get("PLC1", {})

    assert uploaded(10.0)        # first time always
    assert not uploaded(10.4)    # within the deadband of the last upload
    assert not uploaded(10.5)    # exactly the deadband is not "more than"
    assert uploaded(10.6)
    assert not uploaded(10.2)    # compared with 10.6, the last uploaded value
    latest.set_failed("PLC1", "T", "gone", 2.0)
    assert "T" in uploader.snapshot().data_collect()["values"]["PLC1"]  # a status change is a change

"""A script's config.set changes group intervals and labels, and nothing else."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.config.load import parse_config
from gateway.core.errors import GatewayError
from gateway.device_supervisor.config_changes import group_change, requested_change
from gateway.device_supervisor.running_config import running_config
from tests.conftest import REPO

CONFIG = """
gateway: {name: g1, labels: {site: north}}
controllers: [{name: PLC1, protocol: modbus-tcp, endpoint: '10.0.0.5:502'}]
groups: [{name: fast, upload_interval: 1}, {name: slow, upload_interval: 60, history: true}]
measures: [{name: Temp, controller: PLC1, group: fast, address: '40001', type: FLOAT}]
"""


def _current() -> tuple[dict[str, Any], dict[str, str]]:
    model = parse_config(CONFIG, REPO / "config.yaml").model
    return running_config(model), dict(model.gateway.labels)


def test_intervals_and_labels_change() -> None:
    current, labels = _current()
    wanted = copy.deepcopy(current)
    wanted["groups"][1]["uploadInterval"] = 30
    wanted["labels"] = [*[item for item in wanted["labels"] if item["key"] != "site"],
                        {"key": "site", "value": "south"}, {"key": "line", "value": 3}]
    change = requested_change(current, wanted, labels)
    assert change.intervals == {"slow": 30.0} and change.labels == {"site": "south", "line": "3"}
    document: dict[str, Any] = {"groups": [{"name": "fast", "upload_interval": 1}, {"name": "slow"}]}
    change.edit(document)
    assert document == {"groups": [{"name": "fast", "upload_interval": 1}, {"name": "slow", "upload_interval": 30.0}],
                        "gateway": {"labels": {"site": "south", "line": "3"}}}
    assert requested_change(current, copy.deepcopy(current), labels) == requested_change(current, {}, labels)
    unchanged = requested_change(current, {}, labels)
    assert unchanged.intervals == {} and unchanged.labels is None


def test_update_group_is_a_change_of_one_interval() -> None:
    current, labels = _current()
    wanted = group_change(current, {"group_name": "fast", "upload_interval": 5})
    assert requested_change(current, wanted, labels).intervals == {"fast": 5.0}
    with pytest.raises(GatewayError, match="no group 'nope'"):
        group_change(current, {"group_name": "nope", "upload_interval": 5})


@pytest.mark.parametrize(("edit", "refusal"), [
    (lambda c: c["controllers"][0].update(endpoint="10.9.9.9:502"), "'controllers' cannot be changed by a script"),
    (lambda c: c["groups"].append({"name": "new", "uploadInterval": 5, "enableHistory": 0}), "cannot be added"),
    (lambda c: c["groups"][1].update(enableHistory=0), "changes only uploadInterval"),
    (lambda c: c["groups"][0].update(uploadInterval=0), "above 0 and at most a day"),
    (lambda c: c["groups"][0].update(uploadInterval="5"), "above 0 and at most a day"),
    (lambda c: c["labels"].append({"key": "SN", "value": "forged"}), "label 'SN' is the gateway's own"),
    (lambda c: c.update(labels={"site": "x"}), "labels are"),
])
def test_anything_else_is_refused_with_the_field(edit: Any, refusal: str) -> None:
    current, labels = _current()
    wanted = copy.deepcopy(current)
    edit(wanted)
    with pytest.raises(GatewayError, match=refusal):
        requested_change(current, wanted, labels)

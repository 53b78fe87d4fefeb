"""Section edits by lines: what the UI saves must mean what a whole-file round trip means, and every
line the edit did not touch (comments included) must stay byte for byte."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config.save import edit_config
from gateway.config.splice import locate, splice_items, splice_section
from gateway.core.errors import ConfigError

CONFIG = """\
# plant configuration
gateway:
  name: plant   # shown in the UI
  data_dir: ./state

controllers:
  - name: PLC1          # the press
    protocol: modbus-tcp
    endpoint: 127.0.0.1:5020
    args: {unit_id: 1}

measures:
# boiler
- name: t1
  controller: PLC1
  group: g
  address: "40001"
  type: int16
# keep: the tank's level
- name: t2   # level
  controller: PLC1
  group: g
  address: '40002'
  type: uint16
-
  name: t3
  controller: PLC1
  group: g
  address: "40003"
  type: float32

groups: [{name: g, upload_interval: 1}]
functions:
  - name: f
    code: |
      x = 1
      # the end of the code
    # a comment after the function
"""


def _items_edit(text: str, edit: Any) -> str:
    """Edit by items; the document handed on for validation must be what the new text says."""
    result = splice_items(text, "measures", edit)
    assert result is not None
    new_text, document = result
    assert document == yaml.safe_load(new_text)
    return new_text


def _measures(text: str) -> list[dict[str, Any]]:
    measures: list[dict[str, Any]] = yaml.safe_load(text)["measures"]
    return measures


def _index(items: list[Any], name: str) -> int:
    return next(i for i, item in enumerate(items) if item.get("name") == name)


def test_replacing_one_item_rewrites_only_its_lines() -> None:
    new = {"name": "t2", "controller": "PLC1", "group": "g", "address": "40010", "type": "int32"}

    def edit(document: dict[str, Any]) -> None:
        items = document["measures"]
        items[_index(items, "t2")] = new
    result = _items_edit(CONFIG, edit)
    assert _measures(result)[1] == new
    assert [m["name"] for m in _measures(result)] == ["t1", "t2", "t3"]
    assert "# keep: the tank's level\n- name: t2\n" in result  # the comment before it stays before it
    assert "# level" not in result  # the comment inside the replaced item goes with it
    kept = [line for line in CONFIG.splitlines() if "t2" not in line and "40002" not in line
            and "uint16" not in line and "# level" not in line]
    assert [line for line in result.splitlines() if line in kept] == kept


def test_deleting_and_adding_items() -> None:
    def edit(document: dict[str, Any]) -> None:
        items = document["measures"]
        del items[_index(items, "t1")]
        items.append({"name": "t4", "controller": "PLC1", "group": "g", "address": "40004", "type": "bit"})
    result = _items_edit(CONFIG, edit)
    assert [m["name"] for m in _measures(result)] == ["t2", "t3", "t4"]
    assert "# boiler" in result and "# keep: the tank's level" in result
    assert yaml.safe_load(result)["functions"][0]["code"] == "x = 1\n# the end of the code\n"


def test_items_are_read_only() -> None:
    def edit(document: dict[str, Any]) -> None:
        document["measures"][0]["type"] = "int32"
    with pytest.raises(TypeError):
        splice_items(CONFIG, "measures", edit)


def test_a_section_round_trip_keeps_its_comments_and_the_rest_of_the_file() -> None:
    def edit(document: Any) -> None:
        document["controllers"][0]["endpoint"] = "127.0.0.1:5021"
    result = splice_section(CONFIG, "controllers", edit, _ruamel_round_trip)
    assert result is not None
    assert "# the press" in result
    assert yaml.safe_load(result)["controllers"][0]["endpoint"] == "127.0.0.1:5021"
    before, after = CONFIG.split("controllers:\n")[0], CONFIG.split("\nmeasures:\n")[1]
    assert result.startswith(before) and result.endswith(after)


def test_a_missing_section_is_added_at_the_end() -> None:
    def edit(document: Any) -> None:
        document["alarms"] = [{"name": "hot"}]
    result = splice_section(CONFIG, "alarms", edit, _ruamel_round_trip)
    assert result is not None and result.startswith(CONFIG)
    assert yaml.safe_load(result)["alarms"] == [{"name": "hot"}]


def test_the_last_section_ends_with_its_block_scalar() -> None:
    layout = locate(CONFIG, "functions")
    assert layout is not None and layout.block is not None and layout.items is not None
    lines = CONFIG.split("\n")
    assert lines[layout.items[0].last] == "      # the end of the code"


@pytest.mark.parametrize("text", [
    "{measures: [{name: a}]}\n",                                    # flow-style top level
    "base: &b {group: g}\nmeasures:\n- <<: *b\n  name: a\n",        # an alias into the section
    "measures:\n- &m {name: a}\nother: *m\n",                       # an anchor others refer to
    "measures:\r- name: a\r",                                       # old Mac line breaks
    "measures:\n- name: a\nmeasures:\n- name: b\n",                 # the key twice
])
def test_layouts_not_followed_fall_back(text: str) -> None:
    assert locate(text, "measures") is None


def test_edit_config_falls_back_to_the_whole_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"gateway: {{data_dir: '{tmp_path}/state'}}\n"
                    "controllers: [{name: PLC1, protocol: modbus-tcp, endpoint: '127.0.0.1:5020'}]\n"
                    "groups: [{name: g}]\n"
                    "measures:\n- &a {name: a, controller: PLC1, group: g, type: INT, address: '40001'}\n"
                    "- <<: *a\n  name: b\n  address: '40002'\n")

    def edit(document: Any) -> None:
        document["measures"].append({"name": "c", "controller": "PLC1", "group": "g", "type": "INT",
                                     "address": "40003"})
    loaded = edit_config(path, edit, section="measures", whole_items=True)
    assert [(m.name, m.type) for m in loaded.model.measures] == [("a", "INT"), ("b", "INT"), ("c", "INT")]
    assert "<<: *a" in path.read_text()


def test_an_invalid_edit_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"gateway: {{data_dir: '{tmp_path}/state'}}\n"
                    "controllers: [{name: PLC1, protocol: modbus-tcp, endpoint: '127.0.0.1:5020'}]\n"
                    "groups: [{name: g}]\n"
                    "measures:\n- {name: a, controller: PLC1, group: g, type: INT, address: '40001'}\n")
    before = path.read_text()

    def edit(document: dict[str, Any]) -> None:
        document["measures"].append({"name": "t9", "controller": "nowhere", "group": "g", "address": "40009",
                                     "type": "INT"})
    with pytest.raises(ConfigError, match="nowhere"):
        edit_config(path, edit, section="measures", whole_items=True)
    assert path.read_text() == before


def test_random_edits_mean_what_they_mean_on_plain_data() -> None:
    """Any mix of replacements, deletions and additions reads back as the same edit on plain data."""
    chooser = random.Random(14)
    for _ in range(200):
        names = [f"m{i}" for i in range(chooser.randint(1, 8))]
        text = "measures:\n" + "".join(
            f"{'# about ' + n + chr(10) if chooser.random() < 0.3 else ''}"
            f"  - name: {n}\n    address: '{i}'\n" for i, n in enumerate(names)) + "groups: []\n"
        expected = yaml.safe_load(text)["measures"]
        operations = [(chooser.choice("rda"), chooser.random()) for _ in range(chooser.randint(1, 4))]

        def apply(items: list[Any], ops: list[tuple[str, float]] = operations) -> None:
            for step, (kind, where) in enumerate(ops):
                index = int(where * len(items))
                new = {"name": f"new{step}", "address": str(100 + step)}
                if kind == "a" or not items:
                    items.append(new)
                elif kind == "r":
                    items[index] = new
                else:
                    del items[index]
        apply(expected)

        def edit(document: dict[str, Any]) -> None:
            apply(document["measures"])
        result = _items_edit(text, edit)
        assert _measures(result) == expected, (text, operations, result)
        assert yaml.safe_load(result)["groups"] == []


def _ruamel_round_trip(text: str, change: Any) -> str:
    from gateway.config.save import round_trip
    return round_trip(text, change)


def test_new_items_read_the_same_in_pyyaml_and_in_the_comment_keeping_editor() -> None:
    """The gateway loads with PyYAML (YAML 1.1); the UI edits and exports with ruamel (YAML 1.2).
    A string one of them reads as something else (``.``, ``yes``, ``1e3``...) must be quoted."""
    from gateway.config.save import load_document

    tricky = [".", "yes", "On", "n", "1e3", "0x1F", "", "null", "~", "a: b", "- x", "#c", "two\nlines", "1_000",
              "12:30", "2026-12-02", ".inf", "plain_word", "with space", "ümlaut", "*alias", "&anchor", "!tag"]

    def edit(document: dict[str, Any]) -> None:
        document["measures"] += [{"name": value, "unit": value, "gain": 1.5, "flag": True, "none": None}
                                 for value in tricky]
    text = _items_edit(CONFIG, edit)
    added = yaml.safe_load(text)["measures"][3:]
    assert [m["name"] for m in added] == tricky and [m["unit"] for m in added] == tricky
    edited = load_document(text)["measures"][3:]
    assert [str(m["name"]) for m in edited] == tricky
    assert all(m["gain"] == 1.5 and m["flag"] is True and m["none"] is None for m in edited)

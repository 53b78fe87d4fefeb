"""The event-stream YAML reader gives exactly what yaml.safe_load gives: for generated documents in
block and flow style, for anchors, aliases and merge keys, and for what it hands to PyYAML."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config.yaml_events import load_yaml

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=12), st.sampled_from(["yes", "No", "on", "~", "0x1F", "0o17", "1_000", "1:20", "2024-01-02",
                                           ".inf", "-.Inf", "1e3", "0777", "<<", "=", "!", "&", "*a", "null"]),
    st.dates(),
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none()), children, max_size=5),
    max_leaves=30,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(document=documents, flow=st.sampled_from([None, True, False]))
def test_generated_documents_read_alike(document: Any, flow: bool | None) -> None:
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    expected = yaml.safe_load(text)
    assert load_yaml(text) == expected
    assert repr(load_yaml(text)) == repr(expected)  # same types too: 1 is not True, "1" is not 1


@pytest.mark.parametrize("text", [
    "",
    "# only a comment\n",
    "---\n",
    "plain\n",
    "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n",
    "list: &l [1, 2]\nsame: *l\n",
    "n: &n 5\nm: *n\n",
    "d: 2024-01-02 10:00:00\nb: !!binary aGVsbG8=\ns: !!str 12\ni: !!int '7'\nf: !!float '1'\n",
    "set: !!set {a, b}\n",
    "omap: !!omap [{a: 1}, {b: 2}]\n",
    "? [1, 2]\n: complex key\n",
    "k: 1\nk: 2\n",
    "measures:\n  - {name: Temp, address: '40001', type: FLOAT, deadband: .5, decimal: 2}\n",
])
def test_edge_cases_read_alike(text: str) -> None:
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            load_yaml(text)
        return
    got = load_yaml(text)
    assert got == expected and repr(got) == repr(expected)


def test_merged_mappings_follow_the_yaml_spec_the_first_of_a_list_wins() -> None:
    # PyYAML 6.0.4 lets the first win only when the key strings happen to be one object ("k" but
    # not "kk"); the spec says the first mapping of the list takes precedence
    for key in ("k", "kk"):
        data = load_yaml(f"a: &a {{{key}: 1, m: 1}}\nb: &b {{{key}: 2, n: 2}}\nc:\n  <<: [*a, *b]\n  o: 3\n")
        assert data["c"] == {key: 1, "m": 1, "n": 2, "o": 3}


def test_an_alias_is_the_same_object_as_its_anchor() -> None:
    data = load_yaml("a: &x [1]\nb: *x\n")
    assert data["a"] is data["b"]


@pytest.mark.parametrize("text", ["a: *missing\n", "a: 1\n---\nb: 2\n", "a: [1, 2\n", "a: !custom 3\n",
                                  "<<: 3\n", "a:\n  <<: [1]\n"])
def test_broken_documents_fail_as_with_pyyaml(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(type(expected.value)):
        load_yaml(text)


def test_dates_and_times_keep_their_types() -> None:
    assert load_yaml("d: 2024-01-02\nt: 2024-01-02 10:00:00\n") == {
        "d": datetime.date(2024, 1, 2), "t": datetime.datetime(2024, 1, 2, 10, 0)}

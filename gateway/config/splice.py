"""Edit one top-level section of config.yaml in its text, leaving every other line as it was.

The comment-keeping round trip (ruamel) reads and writes the whole file in pure Python: with
100,000 measures, changing one field of one controller took 90 s. Here libyaml's events find the
section's lines (and, in a list section, each item's lines); only that section goes through the
round trip, or, when the caller replaces whole items, only the new items are written and every
other item keeps its text, comments included.

A file whose layout this does not follow line by line (a flow-style top level, anchors or aliases
in the section, line breaks other than LF and CRLF, a key twice) gets ``None``: the caller then
takes the whole-file round trip, which is slower but handles any YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from .yaml_events import LOADER, Builder, NotHere, load_yaml

_UNFOLLOWED_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # libyaml counts these as lines, str.split does not


class _Unfollowed(Exception):
    """The file's layout is not one this module edits by lines."""


@dataclass(frozen=True, slots=True)
class Lines:
    """Lines ``first`` to ``last`` of the file, both included, counted from 0."""

    first: int
    last: int


@dataclass(frozen=True, slots=True)
class SectionLayout:
    """Where a top-level section is: its lines (None when the file has no such key) and, when its
    value is a block list, each item's lines (from the line with its dash)."""

    block: Lines | None
    items: list[Lines] | None
    dash_column: int = 0
    values: list[Any] | None = None  # the items as ``yaml.safe_load`` reads them, when asked for


def locate(text: str, section: str, *, values: bool = False) -> SectionLayout | None:
    """Return where ``section`` is in ``text`` (with its items' ``values`` when asked: read in the
    same pass), or None when the layout is not followed."""
    if any(mark in text for mark in _UNFOLLOWED_BREAKS):
        return None
    loader = LOADER(text)
    try:
        return _Walk(loader, text.split("\n"), section, Builder(loader) if values else None).layout()
    except (_Unfollowed, NotHere, yaml.YAMLError):
        return None
    finally:
        loader.dispose()


def splice_section(text: str, section: str, change: Callable[[Any], None],
                   round_trip: Callable[[str, Callable[[Any], None]], str],
                   layout: SectionLayout | None = None) -> str | None:
    """Return ``text`` with ``section`` changed by ``change``, which gets a document holding only
    that section; ``round_trip(section_text, change)`` edits and dumps it keeping comments.
    None when the layout is not followed. ``layout``: the section's, when the caller located it."""
    layout = layout or locate(text, section)
    if layout is None:
        return None
    lines = text.split("\n")
    if layout.block is None:
        edited = round_trip("", change)
        return text + ("" if not text or text.endswith("\n") else "\n") + edited
    first, last = layout.block.first, layout.block.last
    edited = round_trip("\n".join(lines[first:last + 1]) + "\n", change)
    return "\n".join([*lines[:first], *edited.removesuffix("\n").split("\n"), *lines[last + 1:]]) \
        if edited else "\n".join([*lines[:first], *lines[last + 1:]])


def splice_items(text: str, section: str,
                 change: Callable[[dict[str, Any]], None]) -> tuple[str, dict[str, Any]] | None:
    """Return ``text`` with the list ``section`` changed by ``change``, which gets ``{section: list}``
    of read-only items and may replace, delete or add whole items, and the new text's document as
    ``yaml.safe_load`` reads it (built from what was read here, so that a 100,000-item section is
    not parsed again). Items left in the list keep their text; new ones are written in block
    style at the list's indentation. None when the section is not a non-empty block list in a
    followed layout."""
    layout = locate(text, section, values=True)
    if layout is None or layout.block is None or not layout.items or layout.values is None:
        return None
    lines = text.split("\n")
    block = layout.block
    originals: list[Any] = [MappingProxyType(v) if isinstance(v, dict) else v for v in layout.values]
    document: dict[str, Any] = {section: list(originals)}
    change(document)
    edited = document.get(section)
    if not isinstance(edited, list):
        raise TypeError(f"the edit of '{section}' must leave it a list")
    rest = load_yaml("\n".join([*lines[:block.first], *lines[block.last + 1:]])) or {}
    assert isinstance(rest, dict)  # the root is a block mapping (the walk checked): without a key, still one
    rest[section] = [dict(item) if isinstance(item, MappingProxyType) else item for item in edited]
    if not edited:
        return "\n".join([*lines[:block.first], f"{section}: []", *lines[block.last + 1:]]), rest
    body = _ItemWriter(lines, layout, originals).write(edited)
    return "\n".join([*lines[:layout.items[0].first], *body, *lines[block.last + 1:]]), rest


class _ItemWriter:
    """Writes a list section's items: kept ones as their lines, new ones dumped; the comment lines
    before an item stay where they were (before a new item that took its place)."""

    def __init__(self, lines: list[str], layout: SectionLayout, originals: list[Any]) -> None:
        assert layout.items is not None
        self._lines = lines
        self._items = layout.items
        self._indent = " " * layout.dash_column
        self._index_of = {id(item): index for index, item in enumerate(originals)}

    def write(self, edited: list[Any]) -> list[str]:
        kept = {self._index_of[id(item)] for item in edited if id(item) in self._index_of}
        out: list[str] = []
        cursor = 0  # the next original item not yet passed
        for item in edited:
            original = self._index_of.get(id(item))
            if original is not None:
                for passed in range(cursor, original + 1):
                    out += self._gap_before(passed)
                out += self._lines[self._items[original].first:self._items[original].last + 1]
                cursor = original + 1
                continue
            if cursor < len(self._items) and cursor not in kept:  # it takes a removed item's place
                out += self._gap_before(cursor)
                cursor += 1
            out += self._dumped(item)
        for passed in range(cursor, len(self._items)):
            out += self._gap_before(passed)
        return out

    def _gap_before(self, index: int) -> list[str]:
        """The comment and blank lines between item ``index`` and the one before it."""
        if index == 0:
            return []
        return self._lines[self._items[index - 1].last + 1:self._items[index].first]

    def _dumped(self, item: Any) -> list[str]:
        plain = dict(item) if isinstance(item, Mapping) else item
        text = yaml.dump([plain], Dumper=_ItemDumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                         width=2**16)
        return [self._indent + line for line in text.removesuffix("\n").split("\n")]


class _ItemDumper(yaml.SafeDumper):
    """Writes a string plain only when it is a word that YAML 1.1 (PyYAML, which loads the file)
    and YAML 1.2 (ruamel, which edits it keeping comments) both read as that string; any other
    string is quoted. (PyYAML alone would write ``.`` plain, which ruamel takes for a number.)"""


_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_NOT_STRINGS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # in either YAML version


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain = _PLAIN_WORD.match(value) is not None and value.lower() not in _NOT_STRINGS
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else '"')


_ItemDumper.add_representer(str, _represent_str)


class _Walk:
    """One pass over the events: the root mapping's keys, the section's lines and its items."""

    def __init__(self, loader: yaml.SafeLoader, lines: list[str], section: str, builder: Builder | None) -> None:
        self._get: Callable[[], Any] = loader.get_event
        self._lines = lines
        self._section = section
        self._builder = builder

    def layout(self) -> SectionLayout:
        self._expect(StreamStartEvent)
        event = self._get()
        if isinstance(event, StreamEndEvent):
            return SectionLayout(None, None)
        if not isinstance(event, DocumentStartEvent):
            raise _Unfollowed
        root = self._get()
        if not isinstance(root, MappingStartEvent) or root.flow_style or root.anchor is not None:
            raise _Unfollowed
        found: SectionLayout | None = None
        while not isinstance(key := self._get(), MappingEndEvent):
            if not isinstance(key, ScalarEvent) or _start(key)[1] != 0 or key.anchor is not None:
                raise _Unfollowed
            if key.value != self._section:
                self._skip_node(self._get())
                continue
            if found is not None:
                raise _Unfollowed  # the key twice
            found = self._section_layout(key)
        self._expect(DocumentEndEvent)
        self._expect(StreamEndEvent)  # a second document is not followed
        return found or SectionLayout(None, None)

    def _section_layout(self, key: ScalarEvent) -> SectionLayout:
        value = self._get()
        _refuse_anchors(value)
        if not isinstance(value, SequenceStartEvent) or value.flow_style:
            last = self._node_end(value)
            return SectionLayout(Lines(_start(key)[0], max(_last_line(key), last)), None)
        items: list[Lines] = []
        values: list[Any] = []
        dash_columns: set[int] = set()
        while not isinstance(item := self._get(), CollectionEndEvent):
            first, dash_column = self._dash(item)
            tracker = _Tracker(self._get, item)
            if self._builder is not None:
                values.append(self._builder.node(tracker))
            else:
                tracker.consume()
            items.append(Lines(first, tracker.last))
            dash_columns.add(dash_column)
        if len(dash_columns) > 1:
            raise _Unfollowed
        last = items[-1].last if items else _last_line(key)
        return SectionLayout(Lines(_start(key)[0], last), items, dash_columns.pop() if dash_columns else 0,
                             values if self._builder is not None else None)

    def _dash(self, item: Any) -> tuple[int, int]:
        """The line and column of the dash that starts a block list's ``item``."""
        line, column = _start(item)
        before = self._lines[line][:column]
        if before.strip() == "-":
            return line, before.index("-")
        if before.strip() == "" and line > 0 and self._lines[line - 1].strip() == "-":
            return line - 1, self._lines[line - 1].index("-")
        raise _Unfollowed

    def _node_end(self, start: Any) -> int:
        """Consume the node that ``start`` opens; return the last line it has content on."""
        tracker = _Tracker(self._get, start)
        tracker.consume()
        return tracker.last

    def _skip_node(self, start: Any) -> None:
        if isinstance(start, MappingStartEvent | SequenceStartEvent):
            get, depth = self._get, 1
            while depth:
                kind = type(get())
                if kind is not ScalarEvent:
                    depth += kind is MappingStartEvent or kind is SequenceStartEvent
                    depth -= kind is MappingEndEvent or kind is SequenceEndEvent

    def _expect(self, kind: type) -> None:
        if not isinstance(self._get(), kind):
            raise _Unfollowed


class _Tracker:
    """Hands on the events of one node, from ``start``, refusing anchors and aliases, and keeps
    the last line the node has content on."""

    def __init__(self, get: Callable[[], Any], start: Any) -> None:
        self._get = get
        self._pending: Any = start
        self._flow: list[bool] = []  # per open collection: a block one's end is marked where the next token starts
        self.last = _start(start)[0]

    def __call__(self) -> Any:
        event = self._pending
        if event is None:
            event = self._get()
        else:
            self._pending = None
        if type(event) is ScalarEvent:  # most events: checked first, inline
            if event.anchor is not None:
                raise _Unfollowed
            self.last = max(self.last, _last_line(event))
            return event
        _refuse_anchors(event)
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            self._flow.append(bool(event.flow_style))
            self.last = max(self.last, _start(event)[0])
        elif isinstance(event, CollectionEndEvent) and self._flow.pop():  # a flow collection's ] or }
            self.last = max(self.last, _last_line(event))
        return event

    def consume(self) -> None:
        """Read the whole node."""
        self()
        while self._flow:
            self()


def _refuse_anchors(event: Any) -> None:
    if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
        raise _Unfollowed  # another part of the file may refer to what is edited here


def _last_line(event: Any) -> int:
    """The last line ``event`` has content on: an end mark at a line's start belongs to the line before."""
    mark: Any = event.end_mark
    line: int = mark.line
    return line if mark.column else line - 1


def _start(event: Any) -> tuple[int, int]:
    """The line and column where ``event`` starts."""
    mark: Any = event.start_mark
    return mark.line, mark.column

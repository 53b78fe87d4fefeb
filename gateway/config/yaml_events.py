"""Read YAML as ``yaml.safe_load`` does, from libyaml's event stream, without PyYAML's node graph.

PyYAML composes a whole document into nodes, with two position marks each, before it builds a
single dict. For a configuration of 100,000 measures that graph takes some 400 MB and most of the
load time, and the memory it leaves fragmented stays with the process for its whole life. Here
the events are turned into dicts, lists and scalars as they come; scalars are resolved and built
by PyYAML's own resolver and constructors, so the result is the same.

Anything this reader does not handle itself (an explicit tag on a mapping or sequence, a key
that is itself a collection) is read again by PyYAML's full loader, which also reports errors.
Merge keys (``<<``) follow the YAML spec: the mapping's own keys win, then the first mapping of a
``<<`` list that has the key. (PyYAML 6.0.4 lets the first win only when the key strings happen to
be the same object, as one-letter keys are, and the last otherwise.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

# libyaml's parser where PyYAML was built with it (PyPI's wheels are, and the app package's)
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_CACHED = 4096  # entries per cache


class NotHere(Exception):
    """The document needs PyYAML's full loader."""


def load_yaml(text: str | bytes, items: Mapping[str, Callable[[Any], Any]] | None = None) -> Any:
    """Return what ``yaml.safe_load(text)`` returns; raise yaml.YAMLError for a broken document.

    ``items`` may name top-level list sections whose items are each handed, as soon as read, to
    a function whose result takes the item's place (see :class:`Builder`); the full loader, which
    this falls back to for what it does not read itself, hands over nothing."""
    try:
        return _from_events(text, items)
    except (NotHere, TypeError):  # TypeError: an unhashable key, which the full loader reports
        return yaml.load(text, Loader=LOADER)


def _from_events(text: str | bytes, items: Mapping[str, Callable[[Any], Any]] | None) -> Any:
    loader = LOADER(text)
    try:
        return Builder(loader, items).document()
    finally:
        loader.dispose()


class _Mapping:
    """A mapping being built: its dict, the key waiting for its value, and what ``<<`` merges in."""

    __slots__ = ("key", "merged", "value", "waiting")

    def __init__(self) -> None:
        self.value: dict[Any, Any] = {}
        self.key: Any = None
        self.waiting = False  # True when ``key`` holds a key whose value comes next
        self.merged: list[list[dict[Any, Any]]] | None = None  # each ``<<``'s mappings


class Builder:
    """Turns one document's events into Python objects.

    ``items`` maps top-level list sections to a function applied to each of their mapping items
    as soon as it is read, whose result is kept instead: a configuration's 100,000 measures are
    then never all held as dicts at once, and the memory those dicts would take (which the
    process keeps, fragmented, for its whole life) is not needed."""

    def __init__(self, loader: yaml.SafeLoader, items: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
        self._loader = loader
        self._items = items
        self._get_event: Callable[[], Any] = loader.get_event  # untyped in PyYAML's stubs
        self._resolve: Callable[[type[ScalarNode], str, tuple[bool, bool]], str] = loader.resolve
        self._anchors: dict[str, Any] = {}
        # Caches of what repeats (types, numbers): they fill with the first values read and then
        # stop growing, so that 100,000 unique names and addresses do not take tens of megabytes
        # while the file is read.
        self._resolved: dict[str, str] = {}  # plain scalar -> tag
        self._built: dict[tuple[str, str, str | None], Any] = {}  # numbers, booleans... are immutable
        self._strings: dict[str, str] = {}

    def document(self) -> Any:
        get = self._get_event
        event = get()
        if not isinstance(event, StreamStartEvent):
            raise NotHere
        event = get()
        if isinstance(event, StreamEndEvent):
            return None
        if not isinstance(event, DocumentStartEvent):
            raise NotHere
        root = self.node(get)
        if not isinstance(get(), DocumentEndEvent) or not isinstance(get(), StreamEndEvent):
            raise NotHere  # a second document: the full loader says why that is an error
        return root

    def node(self, get: Callable[[], Any]) -> Any:
        """Build the node whose events ``get`` returns next; raise NotHere for what this does not build."""
        stack: list[Any] = []  # open collections: lists, and _Mapping for mappings
        while True:
            event = get()
            if isinstance(event, ScalarEvent):
                value = self._scalar(event)
            elif isinstance(event, MappingStartEvent | SequenceStartEvent):
                if event.tag is not None and event.tag not in ("!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
                    raise NotHere
                opened: Any = _Mapping() if isinstance(event, MappingStartEvent) else []
                if event.anchor is not None:
                    self._anchors[event.anchor] = opened.value if isinstance(opened, _Mapping) else opened
                stack.append(opened)
                continue
            elif isinstance(event, MappingEndEvent):
                value = _finish(stack.pop())
                if self._items is not None and len(stack) == 2 and type(stack[1]) is list:
                    root = stack[0]  # an item of a top-level list: the root mapping waits for it under its key
                    convert = self._items.get(root.key) if type(root) is _Mapping and root.waiting else None
                    if convert is not None:
                        value = convert(value)
            elif isinstance(event, SequenceEndEvent):
                value = stack.pop()
            elif isinstance(event, AliasEvent):
                if event.anchor not in self._anchors:
                    raise NotHere  # the full loader reports the unknown alias
                value = self._anchors[event.anchor]
            else:
                raise NotHere
            if not stack:
                if value is _MERGE_KEY:
                    raise NotHere
                return value
            _add(stack[-1], value)

    def _scalar(self, event: ScalarEvent) -> Any:
        tag = event.tag
        text = event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                tag = _STR  # quoted: what the resolver says of every scalar that is not plain
            elif (tag := self._resolved.get(text)) is None:
                tag = self._resolve(ScalarNode, text, event.implicit)
                if len(self._resolved) < _CACHED:
                    self._resolved[text] = tag
        if tag == _STR:  # one object per distinct string: measures name few controllers, machines repeat names
            value: Any = self._strings.setdefault(text, text)
        elif tag == _MERGE:
            value = _MERGE_KEY
        else:
            built = (tag, event.value, event.style)
            value = self._built.get(built, _MISSING)
            if value is _MISSING:
                construct = self._loader.yaml_constructors.get(tag)
                if construct is None:
                    raise NotHere  # a tag of its own: the full loader says it is unknown
                value = construct(self._loader, ScalarNode(tag, event.value, style=event.style))
                if len(self._built) < _CACHED:
                    self._built[built] = value
        if event.anchor is not None:
            self._anchors[event.anchor] = value
        return value


_MISSING = object()
_MERGE_KEY = object()


def _add(parent: Any, value: Any) -> None:
    if isinstance(parent, list):
        if value is _MERGE_KEY:
            raise NotHere
        parent.append(value)
        return
    if not parent.waiting:
        parent.key, parent.waiting = value, True
        return
    parent.waiting = False
    if value is _MERGE_KEY:
        raise NotHere
    if parent.key is _MERGE_KEY:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            raise NotHere  # the full loader reports what cannot be merged
        parent.merged = [*(parent.merged or []), sources]
        return
    parent.value[parent.key] = value


def _finish(mapping: _Mapping) -> dict[Any, Any]:
    """Apply ``<<`` merges: the mapping's own keys win; within one ``<<`` list the first mapping
    that has a key wins, and a later ``<<`` wins over an earlier one."""
    if mapping.merged is None:
        return mapping.value
    combined: dict[Any, Any] = {}
    for sources in mapping.merged:
        for source in reversed(sources):
            combined.update(source)
    explicit = dict(mapping.value)
    mapping.value.clear()
    mapping.value.update(combined)
    mapping.value.update(explicit)
    return mapping.value

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

from collections.abc import Callable
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


class NotHere(Exception):
    """The document needs PyYAML's full loader."""


def load_yaml(text: str) -> Any:
    """Return what ``yaml.safe_load(text)`` returns; raise yaml.YAMLError for a broken document."""
    try:
        return _from_events(text)
    except (NotHere, TypeError):  # TypeError: an unhashable key, which the full loader reports
        return yaml.load(text, Loader=LOADER)


def _from_events(text: str) -> Any:
    loader = LOADER(text)
    try:
        return Builder(loader).document()
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
    """Turns one document's events into Python objects."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self._loader = loader
        self._get_event: Callable[[], Any] = loader.get_event  # untyped in PyYAML's stubs
        self._resolve: Callable[[type[ScalarNode], str, tuple[bool, bool]], str] = loader.resolve
        self._anchors: dict[str, Any] = {}
        self._resolved: dict[tuple[str, bool], str] = {}  # plain scalar -> tag; most values repeat
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
        if tag is None or tag == "!":
            key = (event.value, event.implicit[0])
            tag = self._resolved.get(key)
            if tag is None:
                tag = self._resolved[key] = self._resolve(ScalarNode, event.value, event.implicit)
        if tag == _STR:  # one object per distinct string: 100,000 measures name few controllers
            value: Any = self._strings.setdefault(event.value, event.value)
        elif tag == _MERGE:
            value = _MERGE_KEY
        else:
            built = (tag, event.value, event.style)
            value = self._built.get(built, _MISSING)
            if value is _MISSING:
                construct = self._loader.yaml_constructors.get(tag)
                if construct is None:
                    raise NotHere  # a tag of its own: the full loader says it is unknown
                value = self._built[built] = construct(self._loader, ScalarNode(tag, event.value, style=event.style))
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

"""Refuse a document by its shape before it is built: node count, nesting depth, aliases (pure).

A few hundred KiB of ``[{}, {}, ...]`` become millions of objects once parsed, and a deeply
nested one exhausts the parser's stack. These checks look at the text (JSON) or at the parser's
event stream (YAML), neither of which builds the document, so the cost of refusing is small.
"""

from __future__ import annotations

import re

import yaml

from gateway.core.errors import GatewayError

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it


class ShapeError(GatewayError):
    """A document is larger or deeper than an upload of its kind may be, or not of its kind."""


def check_json(raw: bytes | bytearray, max_nodes: int, max_depth: int) -> None:
    """Raise ShapeError when the JSON in ``raw`` has more than ``max_nodes`` values or nests deeper
    than ``max_depth`` (counted on the text with its strings blanked, never on parsed objects)."""
    bare = _JSON_STRING.sub(b'""', raw)
    nodes = bare.count(b",") + bare.count(b"[") + bare.count(b"{") + 1
    if nodes > max_nodes:
        raise ShapeError(f"the file holds more than {max_nodes:,} values")
    depth = deepest = 0
    for bracket in bare.translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in (0x5B, 0x7B) else -1
        deepest = max(deepest, depth)
    if deepest > max_depth:
        raise ShapeError(f"the file nests deeper than {max_depth} levels")


def check_yaml(text: str, max_nodes: int, max_depth: int, max_aliases: int = 100) -> None:
    """Raise ShapeError when the YAML ``text`` has more than ``max_nodes`` nodes, nests deeper than
    ``max_depth`` or uses more than ``max_aliases`` aliases (each may stand for a whole subtree),
    or when it is no YAML at all."""
    nodes = depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise ShapeError(f"the file nests deeper than {max_depth} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > max_aliases:
                    raise ShapeError(f"the file uses more than {max_aliases} aliases")
            else:
                continue
            nodes += 1
            if nodes > max_nodes:
                raise ShapeError(f"the file holds more than {max_nodes:,} nodes")
    except yaml.YAMLError as exc:
        raise ShapeError(f"not a YAML file: {exc}") from exc

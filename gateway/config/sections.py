"""Validate config.yaml section by section and item by item.

Validating each list item on its own lets one bad measure be reported without hiding the
problems of every other item, and lets the cross-checks still run on all the valid items.
"""

from __future__ import annotations

import functools
import re
import typing
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gateway.core.errors import Problem

from .schema import GatewayConfig
from .validation_text import pydantic_problems

_INDEXED_PATH = re.compile(r"^(\w+)\[(\d+)\]")


@dataclass
class Sections:
    """The valid part of a configuration and what was wrong with the rest."""

    model: GatewayConfig
    problems: list[Problem]
    invalid_names: dict[str, set[str]]
    _kept: dict[str, list[int]] = field(default_factory=dict)

    def original_paths(self, problems: list[Problem]) -> list[Problem]:
        """Rewrite ``section[i]`` of the valid-items model to the item's index in the file."""
        def rewrite(problem: Problem) -> Problem:
            match = _INDEXED_PATH.match(problem.path)
            if not match or match.group(1) not in self._kept:
                return problem
            original = self._kept[match.group(1)][int(match.group(2))]
            return Problem(f"{match.group(1)}[{original}]{problem.path[match.end():]}", problem.message)
        return [rewrite(p) for p in problems]


def validate_sections(raw: dict[str, Any]) -> Sections:
    """Validate every section; keep the valid items and report every invalid one."""
    problems: list[Problem] = []
    invalid_names: dict[str, set[str]] = defaultdict(set)
    kept: dict[str, list[int]] = {}
    clean: dict[str, Any] = {}
    fields = GatewayConfig.model_fields
    for key in raw:
        if key not in fields:
            problems.append(Problem(str(key), "unknown key (check the spelling)"))
    for name, info in fields.items():
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        item_type = _list_item_type(info.annotation)
        if item_type is None or not isinstance(value, list):
            try:
                clean[name] = TypeAdapter[Any](info.annotation or Any).validate_python(value)
            except ValidationError as exc:
                problems += pydantic_problems(exc, prefix=name)
            continue
        adapter = _adapter(item_type)
        clean[name], kept[name] = [], []
        for index, item in enumerate(value):
            try:
                clean[name].append(adapter.validate_python(item))
                kept[name].append(index)
            except ValidationError as exc:
                problems += pydantic_problems(exc, prefix=f"{name}[{index}]")
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    invalid_names[name].add(item["name"])
    return Sections(GatewayConfig.model_validate(clean), problems, dict(invalid_names), kept)


def item_readers() -> dict[str, Callable[[Any], Any]]:
    """Per list section, a function that turns an item into its model object when it is valid
    and leaves it as it is otherwise (for :func:`validate_sections` to report), so that the
    YAML reader can hand items over one by one (see :class:`gateway.config.yaml_events.Builder`)."""
    readers = {}
    for name, info in GatewayConfig.model_fields.items():
        item_type = _list_item_type(info.annotation)
        if item_type is not None:
            readers[name] = _reader(_adapter(item_type))
    return readers


def _reader(adapter: TypeAdapter[Any]) -> Callable[[Any], Any]:
    def read(item: Any) -> Any:
        try:
            return adapter.validate_python(item)
        except ValidationError:
            return item
    return read


@functools.cache
def _adapter(item_type: Any) -> TypeAdapter[Any]:
    """The validator of one list section's items, built once per process (not per load)."""
    return TypeAdapter(item_type)


def _list_item_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0]
    return None

"""Turn pydantic's errors into the user's language: ``path: message`` problems.

An automation engineer reads "must be 1 or more", not "Input should be greater than or equal
to 1", and "must be a number", not "unable to parse string as a number"; a message of our own
(a validator's) passes as it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gateway.core.errors import Problem

_SETTINGS = "must be a group of settings (key: value), not a single value"
_REWORDED: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda _: "missing (required)",
    "extra_forbidden": lambda _: "unknown key (check the spelling)",
    "greater_than": lambda c: f"must be more than {_number(c['gt'])}",
    "greater_than_equal": lambda c: f"must be {_number(c['ge'])} or more",
    "less_than": lambda c: f"must be less than {_number(c['lt'])}",
    "less_than_equal": lambda c: f"must be {_number(c['le'])} or less",
    "int_parsing": lambda _: "must be a whole number",
    "int_type": lambda _: "must be a whole number",
    "int_from_float": lambda _: "must be a whole number",
    "float_parsing": lambda _: "must be a number",
    "float_type": lambda _: "must be a number",
    "bool_parsing": lambda _: "must be true or false",
    "bool_type": lambda _: "must be true or false",
    "string_type": lambda _: "must be text",
    "list_type": lambda _: "must be a list",
    "dict_type": lambda _: _SETTINGS,
    "model_type": lambda _: _SETTINGS,
    "model_attributes_type": lambda _: _SETTINGS,
    "dataclass_type": lambda _: _SETTINGS,
    "literal_error": lambda c: f"must be {c['expected']}",
    "enum": lambda c: f"must be {c['expected']}",
    "string_too_short": lambda c: "must not be empty" if c["min_length"] == 1 else
    f"needs at least {c['min_length']} characters",
    "string_too_long": lambda c: f"may have at most {c['max_length']} characters",
    "too_long": lambda c: f"may have at most {c['max_length']} items",
    "string_pattern_mismatch": lambda _: "has characters that are not allowed here",
    "union_tag_invalid": lambda c: f"kind must be {c['expected_tags']}",
    "union_tag_not_found": lambda _: "needs a kind",
}


def _number(value: Any) -> Any:
    """0.0 reads as 0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def in_words(item: ErrorDetails) -> str:
    """One pydantic error's message as the user reads it."""
    reword = _REWORDED.get(item["type"])
    if reword is not None:
        try:
            return reword(dict(item.get("ctx") or {}))
        except KeyError:  # a context pydantic did not give: its own words then
            pass
    return item["msg"].removeprefix("Value error, ")


def format_path(location: tuple[int | str, ...]) -> str:
    """Render a location like ``('measures', 3, 'address')`` as ``measures[3].address``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def pydantic_problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    """Return one Problem per pydantic error, paths prefixed with ``prefix``."""
    problems = []
    for item in error.errors(include_url=False):
        location = tuple(p for p in item["loc"] if p not in UNION_TAGS)
        path = format_path(location)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        problems.append(Problem(path, in_words(item)))
    return problems


UNION_TAGS = {"gain_offset", "ratio", "pt_ct", "bit_slice", "value_map"}  # pydantic's step into a transform kind

"""Turn pydantic's errors into the user's language: ``path: message`` problems."""

from __future__ import annotations

from pydantic import ValidationError

from gateway.core.errors import Problem

_REWORDED = {
    "missing": "missing (required)",
    "extra_forbidden": "unknown key (check the spelling)",
}


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
        location = tuple(p for p in item["loc"] if p not in _UNION_TAGS)
        path = format_path(location)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = _REWORDED.get(item["type"], item["msg"])
        message = message.removeprefix("Value error, ")
        problems.append(Problem(path, message))
    return problems


_UNION_TAGS = {"gain_offset", "ratio", "pt_ct", "bit_slice", "value_map"}

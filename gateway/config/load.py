"""Load config.yaml: parse, validate, cross-check; refuse it whole with every problem listed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.core.errors import ConfigError, Problem

from .references import check_references, is_inline_code
from .schema import GatewayConfig
from .sections import item_readers, validate_sections
from .yaml_events import LOADER, load_yaml

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and the file it came from."""

    model: GatewayConfig
    path: Path

    @property
    def base_dir(self) -> Path:
        """Return the folder relative paths in the configuration are resolved against."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """Resolve a path written in the configuration."""
        return (self.base_dir / relative).resolve()

    def script_source(self, script: str) -> tuple[str, str]:
        """Return ``(filename, source)`` of a rule's script, inline or from its file."""
        if is_inline_code(script):
            return "<inline>", script
        path = self.resolve(script)
        return str(path), path.read_text(encoding="utf-8")


LINES_UP_TO = 128 * 1024  # the largest file whose problems are given YAML line numbers


def load_config(path: str | Path) -> LoadedConfig:
    """Load and validate ``path``; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()  # libyaml reads the bytes as they are: no text copies of a 10 MB file
    except OSError as exc:
        raise ConfigError([Problem(str(path), f"cannot read: {exc}")]) from exc
    return parse_config(data, path)


def parse_config(text: str | bytes, path: Path, document: Any = None) -> LoadedConfig:
    """Validate configuration ``text`` (or its UTF-8 bytes) as if read from ``path``;
    ``document``, when given, is ``text`` already read (see :func:`gateway.config.splice.splice_items`)."""
    try:
        raw = load_yaml(text, item_readers()) if document is None else document
    except yaml.YAMLError as exc:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as undecodable:
                raise ConfigError([Problem(str(path), f"cannot read: {undecodable}")]) from exc
        raise ConfigError([_yaml_problem(path, _worded_everywhere_alike(text, exc))]) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([Problem(str(path), "the top level must be a mapping of sections")])
    sections = validate_sections(raw)
    problems = sections.problems + sections.original_paths(
        check_references(sections.model, path.resolve().parent, sections.invalid_names)
    )
    if problems and len(text) <= LINES_UP_TO:  # only now is the node tree worth composing: it gives lines
        raise ConfigError(_with_lines(problems, yaml.compose(text, Loader=LOADER)))
    if problems:  # a node tree costs ~100 times the text: a large file's problems keep their paths only
        raise ConfigError(problems)
    return LoadedConfig(sections.model, path.resolve())


def _worded_everywhere_alike(text: str, error: yaml.YAMLError) -> yaml.YAMLError:
    """Return the pure-Python parser's error for ``text``: libyaml words its errors differently,
    and a message should not depend on how PyYAML was built."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return exc
    return error


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if mark is not None:
        return Problem(f"{path.name}:{mark.line + 1}:{mark.column + 1}", message)
    return Problem(path.name, message)


def _with_lines(problems: list[Problem], root: Any) -> list[Problem]:
    """Append the YAML line of each problem's path and sort them in file order."""
    located = [(_line_of(root, p.path) or 0, p) for p in problems]
    located.sort(key=lambda item: item[0])
    return [Problem(p.path, f"{p.message} (line {line})") if line else p for line, p in located]


def _line_of(node: Any, path: str) -> int | None:
    line = None
    for key, index in _PATH_PART.findall(path):
        if isinstance(node, yaml.MappingNode) and key:
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                return line
            node = match
        elif isinstance(node, yaml.SequenceNode) and index:
            position = int(index)
            if position >= len(node.value):
                return line
            node = node.value[position]
        else:
            return line
        line = node.start_mark.line + 1
    return line

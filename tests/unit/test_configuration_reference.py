"""docs/configuration.md names every key a configuration may hold: each section's keys, each
driver's args and each data service's settings, so the reference cannot fall behind the schema."""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest

from gateway.config.schema import GatewayConfig
from gateway.services.registry import available_services, service_for
from gateway.southbound.registry import available_protocols, driver_for
from tests.conftest import REPO

DOC = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")


def _section(marker: str) -> str:
    """The text under the first heading that contains ``marker``, up to the next heading."""
    parts = re.split(r"^(#{2,3} .*)$", DOC, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        if marker in heading:
            return body
    raise AssertionError(f"docs/configuration.md has no heading with {marker}")


def _fields(model: Any) -> dict[str, Any]:
    return dict(getattr(model, "__pydantic_fields__", {}))


def _models_in(annotation: Any) -> list[Any]:
    found, stack = [], [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and _fields(current):
            found.append(current)
        else:
            stack.extend(typing.get_args(current))
    return found


def _documented(model: Any, heading: str, path: str) -> list[str]:
    """The keys of ``model`` (and of its nested sections that have headings) missing under ``heading``."""
    body = _section(heading)
    missing = [f"{path}{key}" for key in _fields(model) if f"| `{key}` |" not in body]
    for key, info in _fields(model).items():
        for inner in _models_in(info.annotation):
            nested = f"{path}{key}"
            if f"`{nested}`" in DOC and nested not in ("measures.transform",):
                missing += _documented(inner, f"`{nested}`", f"{nested}.")
    return missing


def test_every_section_key_is_documented() -> None:
    missing = _documented(GatewayConfig, "Top level", "")
    for section in _fields(GatewayConfig):
        models = _models_in(_fields(GatewayConfig)[section].annotation)
        for model in models:
            missing += _documented(model, f"## `{section}`", f"{section}.")
    assert missing == []


def test_every_transform_kind_and_its_keys_are_documented() -> None:
    body = _section("`measures.transform`")
    [measure] = _models_in(_fields(GatewayConfig)["measures"].annotation)
    for model in _models_in(_fields(measure)["transform"].annotation):
        kind = typing.get_args(_fields(model)["kind"].annotation)[0]
        row = next((line for line in body.splitlines() if line.startswith(f"| `{kind}` |")), "")
        assert row, kind
        assert all(f"`{key}`" in row for key in _fields(model) if key != "kind"), row


@pytest.mark.parametrize("protocol", sorted(available_protocols()))
def test_every_drivers_args_are_documented(protocol: str) -> None:
    body = _section(f"`{protocol}`")
    assert "`args` of" in DOC
    missing = [key for key in _fields(driver_for(protocol).args_model) if f"| `{key}` |" not in body]
    assert missing == [], f"args of {protocol}"


@pytest.mark.parametrize("service", sorted(available_services()))
def test_every_services_settings_are_documented(service: str) -> None:
    body = _section(f"`services.{service}`")
    assert [key for key in _fields(service_for(service).settings_model) if f"| `{key}` |" not in body] == []

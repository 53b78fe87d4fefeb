"""The contract a data service implements (as :mod:`gateway.southbound` is the drivers'): the
settings model of its section under ``services:``, a check of those settings against the
measures, and a ``run`` that serves until cancelled. A service lives in its protocol's plugin
and sees the gateway only through :class:`~gateway.services.access.DataAccess`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from gateway.core.errors import Problem
from gateway.southbound import DataType

from .access import DataAccess


class ServiceSettings(BaseModel):
    """Base of a service's settings; unknown keys are refused so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ServedMeasure:
    """A measure as a data service sees it: what its values are, not where the PLC keeps them."""

    controller: str
    name: str
    type: DataType | None  # of its values: the measure's, FLOAT when scaled, None when mapped to names
    length: int  # of a STRING
    encoding: str
    writable: bool  # access: rw
    unit: str = ""
    description: str = ""


class DataService:
    """A data service; subclasses set the class variables and implement the methods."""

    name: ClassVar[str]  # its key under ``services:``
    title: ClassVar[str]  # as the UI names it
    settings_model: ClassVar[type[ServiceSettings]]

    def __init__(self, settings: Any, measures: Sequence[ServedMeasure], access: DataAccess) -> None:
        """Build the service from its checked ``settings`` (an instance of ``settings_model``)."""

    @classmethod
    def check(cls, settings: Any, measures: Sequence[ServedMeasure]) -> list[Problem]:
        """Return the problems of ``settings`` against the measures, paths relative to the section."""
        return []

    @classmethod
    def describe(cls, settings: Any, measures: Sequence[ServedMeasure]) -> list[dict[str, Any]]:
        """Return where each measure is served (one row each), for the UI to show."""
        return []

    async def run(self) -> None:
        """Serve until cancelled; raise when it cannot (the supervisor restarts it)."""
        raise NotImplementedError

    def status(self) -> Mapping[str, Any]:
        """Return the state and counters the overview shows."""
        raise NotImplementedError

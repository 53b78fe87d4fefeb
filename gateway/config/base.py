"""The building blocks of the configuration models: the strict base model and common field types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
Positive = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]


# Refuse unknown keys (a typo is reported, not ignored) and infinite or NaN numbers.
STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class StrictModel(BaseModel):
    """Refuses unknown keys (a typo is reported, not ignored) and infinite or NaN numbers."""

    model_config = STRICT

"""The body of a fine-tuning job request (`POST /fine_tuning/jobs`), with the service's limits."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from ftsweep.api.common import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_SEED,
    MAX_SUFFIX_LENGTH,
    Integration,
    Metadata,
    WandbSettings,
)
from ftsweep.api.methods import Method

__all__ = [
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE_LENGTH",
    "MAX_SEED",
    "MAX_SUFFIX_LENGTH",
    "Integration",
    "JobRequest",
    "WandbSettings",
]

_NonEmpty = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobRequest(_Model):
    """What `POST /fine_tuning/jobs` takes; `to_body()` renders the JSON body."""

    model: _NonEmpty
    training_file: _NonEmpty
    validation_file: _NonEmpty | None = None
    suffix: Annotated[str, Field(min_length=1, max_length=MAX_SUFFIX_LENGTH)] | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = None
    metadata: Metadata | None = None
    integrations: tuple[Integration, ...] | None = None
    method: Method

    @model_validator(mode="after")
    def _validation_file_for_reinforcement(self) -> JobRequest:
        if self.method.type == "reinforcement" and self.validation_file is None:
            raise ValueError(
                "reinforcement fine-tuning needs a validation_file as well as a training_file"
            )
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON-ready request body: by alias, without None or unset fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)

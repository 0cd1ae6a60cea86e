"""The body of a fine-tuning job request (`POST /fine_tuning/jobs`), with the service's limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
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

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_VALUE_LENGTH = 512
MAX_SUFFIX_LENGTH = 64
MAX_SEED = 2147483647


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_metadata(metadata: dict[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_METADATA_PAIRS:
        raise ValueError(f"metadata has {len(metadata)} pairs; at most {MAX_METADATA_PAIRS}")
    for key, value in metadata.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            raise ValueError(
                f"metadata key {key!r} has {len(key)} characters;"
                f" keys need 1 to {MAX_METADATA_KEY_LENGTH}"
            )
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(
                f"metadata value of {key!r} has {len(value)} characters;"
                f" at most {MAX_METADATA_VALUE_LENGTH}"
            )
    return metadata


Metadata = Annotated[dict[StrictStr, StrictStr], AfterValidator(_check_metadata)]
_NonEmpty = Annotated[str, Field(min_length=1)]


class WandbSettings(_Model):
    """Where a Weights & Biases run goes."""

    project: str
    entity: str | None = None
    name: str | None = None
    tags: tuple[str, ...] | None = None


class Integration(_Model):
    """`{type: wandb, wandb: {...}}`, the only integration the API has."""

    type: Literal["wandb"]
    wandb: WandbSettings


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

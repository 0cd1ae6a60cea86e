"""The job request's light parts: the service's limits and the integrations object.

Kept apart from `job.py` (which needs every method and grader model) so that loading a sweep file
without a grader never builds the grader models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr

__all__ = [
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE_LENGTH",
    "MAX_SEED",
    "MAX_SUFFIX_LENGTH",
    "Integration",
    "Metadata",
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

"""The job's `method` object: supervised, dpo or reinforcement, and exactly that one's settings."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

from ftsweep.api.graders import Grader
from ftsweep.api.hyperparameters import (
    METHODS,
    DpoHyperparameters,
    MethodName,
    ReinforcementHyperparameters,
    SupervisedHyperparameters,
)

__all__ = [
    "DpoMethod",
    "JsonSchemaFormat",
    "Method",
    "MethodConfig",
    "ReinforcementMethod",
    "ResponseFormat",
    "SupervisedMethod",
]

_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _schema_name(name: str) -> str:
    if _SCHEMA_NAME.fullmatch(name) is None:
        raise ValueError(f"json_schema name must be 1 to 64 of a-z A-Z 0-9 _ -, got {name!r}")
    return name


class JsonSchemaFormat(_Model):
    """`response_format.json_schema`; the JSON key `schema` is the field `schema_`."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    name: Annotated[str, AfterValidator(_schema_name)]
    schema_: dict[str, Any] = Field(alias="schema")
    strict: StrictBool | None = None
    description: str | None = None


class ResponseFormat(_Model):
    """`{type: json_schema, json_schema}`: what fills `sample.output_json` (absent from the SDK)."""

    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


class SupervisedMethod(_Model):
    """`method.supervised`."""

    hyperparameters: SupervisedHyperparameters | None = None


class DpoMethod(_Model):
    """`method.dpo`."""

    hyperparameters: DpoHyperparameters | None = None


class ReinforcementMethod(_Model):
    """`method.reinforcement`: the grader is required."""

    grader: Grader
    hyperparameters: ReinforcementHyperparameters | None = None
    response_format: ResponseFormat | None = None


MethodConfig = SupervisedMethod | DpoMethod | ReinforcementMethod


class Method(_Model):
    """`{type, <type>: {...}}`: the settings of the named method and of no other."""

    type: MethodName
    supervised: SupervisedMethod | None = None
    dpo: DpoMethod | None = None
    reinforcement: ReinforcementMethod | None = None

    @model_validator(mode="after")
    def _one_config(self) -> Method:
        given = [name for name in METHODS if getattr(self, name) is not None]
        if self.type not in given:
            raise ValueError(f"method of type {self.type!r} needs a {self.type!r} object")
        others = [name for name in given if name != self.type]
        if others:
            raise ValueError(
                f"method of type {self.type!r} cannot also hold "
                + ", ".join(repr(name) for name in others)
            )
        return self

    @property
    def config(self) -> MethodConfig:
        """The settings of the method named by `type`."""
        config: MethodConfig = getattr(self, self.type)
        return config

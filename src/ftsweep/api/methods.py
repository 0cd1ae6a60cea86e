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


_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_ONES = ("items", "additionalProperties", "not", "contains")


def _schema_problem(schema: object, path: str) -> str | None:
    """Why `schema` (at `path` inside the json_schema's schema) is not a JSON schema, or None."""
    if isinstance(schema, bool):
        return None
    if not isinstance(schema, dict):
        return f"{path or 'schema'}: a schema is an object or true/false, got {schema!r}"
    return next(
        (why for key in schema if (why := _keyword_problem(schema, key, path)) is not None),
        None,
    )


def _keyword_problem(schema: dict[str, Any], key: str, path: str) -> str | None:
    value, here = schema[key], f"{path}.{key}" if path else key
    if key == "type":
        types = value if isinstance(value, list) else [value]
        bad = [t for t in types if t not in _JSON_TYPES] or (not types and [value])
        return (
            f"{here}: {bad[0]!r} is not a JSON schema type ({', '.join(_JSON_TYPES)})"
            if bad
            else None
        )
    if key == "required":
        return _required_problem(value, schema.get("properties"), here)
    if key in _SCHEMA_MAPS:
        if not isinstance(value, dict):
            return f"{here}: must be an object mapping names to schemas"
        return next((w for k, v in value.items() if (w := _schema_problem(v, f"{here}.{k}"))), None)
    if key in _SCHEMA_LISTS:
        if not isinstance(value, list) or not value:
            return f"{here}: must be a non-empty list of schemas"
        return next(
            (w for i, v in enumerate(value) if (w := _schema_problem(v, f"{here}[{i}]"))), None
        )
    if key in _SCHEMA_ONES:
        return _schema_problem(value, here)
    if key == "enum" and (not isinstance(value, list) or not value):
        return f"{here}: must be a non-empty list of values"
    return None


def _required_problem(value: object, properties: object, here: str) -> str | None:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        return f"{here}: must be a list of property names"
    if isinstance(properties, dict):
        missing = [n for n in value if n not in properties]
        if missing:
            return f"{here}: {missing[0]!r} is not one of the properties"
    return None


def _json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    why = _schema_problem(schema, "")
    if why is not None:
        raise ValueError(f"not a valid JSON schema: {why}")
    return schema


class JsonSchemaFormat(_Model):
    """`response_format.json_schema`; the JSON key `schema` is the field `schema_`."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    name: Annotated[str, AfterValidator(_schema_name)]
    schema_: Annotated[dict[str, Any], AfterValidator(_json_schema)] = Field(alias="schema")
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

"""The `method` object: one method, its own hyperparameters, and the reinforcement extras."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ftsweep.api.hyperparameters import (
    DpoHyperparameters,
    ReinforcementHyperparameters,
    SupervisedHyperparameters,
)
from ftsweep.api.methods import (
    DpoMethod,
    JsonSchemaFormat,
    Method,
    ReinforcementMethod,
    ResponseFormat,
    SupervisedMethod,
)

from .test_graders import label_model, multi, string_check, text_similarity


def response_format(**changes: Any) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "default": None}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    json_schema = {"name": "answer_v1", "schema": schema, "strict": True, **changes}
    return {"type": "json_schema", "json_schema": json_schema}


def reinforcement(**changes: Any) -> dict[str, Any]:
    return {"grader": string_check(), **changes}


# --- Method ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "config_type"),
    [
        ({"type": "supervised", "supervised": {}}, SupervisedMethod),
        ({"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}, DpoMethod),
        ({"type": "reinforcement", "reinforcement": reinforcement()}, ReinforcementMethod),
    ],
)
def test_method_config_is_the_named_one(raw: dict[str, Any], config_type: type) -> None:
    method = Method.model_validate(raw)
    assert isinstance(method.config, config_type)
    assert method.model_dump(mode="json", exclude_none=True) == raw


@pytest.mark.parametrize("kind", ["supervised", "dpo", "reinforcement"])
def test_method_needs_the_object_its_type_names(kind: str) -> None:
    with pytest.raises(ValidationError, match=f"method of type '{kind}' needs a '{kind}' object"):
        Method.model_validate({"type": kind})


def test_method_refuses_the_settings_of_another_method() -> None:
    raw = {"type": "supervised", "supervised": {}, "dpo": {}}
    with pytest.raises(ValidationError, match="method of type 'supervised' cannot also hold 'dpo'"):
        Method.model_validate(raw)


def test_method_with_only_another_methods_settings_is_refused() -> None:
    with pytest.raises(ValidationError, match="method of type 'dpo' needs a 'dpo' object"):
        Method.model_validate({"type": "dpo", "supervised": {}})


def test_method_type_is_one_of_three() -> None:
    with pytest.raises(ValidationError, match="'supervised', 'dpo' or 'reinforcement'"):
        Method.model_validate({"type": "ppo", "ppo": {}})


def test_method_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="hyperparameters\n  Extra inputs are not permitted"):
        Method.model_validate({"type": "dpo", "dpo": {}, "hyperparameters": {"n_epochs": 2}})


# --- hyperparameters inside methods ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "key"),
    [("supervised", "beta"), ("dpo", "compute_multiplier"), ("supervised", "reasoning_effort")],
)
def test_a_hyperparameter_of_another_method_is_refused(kind: str, key: str) -> None:
    config: dict[str, Any] = {"hyperparameters": {key: "auto"}}
    with pytest.raises(ValidationError, match=f"{key}\n  Extra inputs are not permitted"):
        Method.model_validate({"type": kind, kind: config})


def test_method_hyperparameters_use_the_shared_models() -> None:
    raw = {"hyperparameters": {"n_epochs": 3, "beta": 0.2}}
    assert isinstance(DpoMethod.model_validate(raw).hyperparameters, DpoHyperparameters)
    supervised = SupervisedMethod.model_validate({"hyperparameters": {"batch_size": 8}})
    assert isinstance(supervised.hyperparameters, SupervisedHyperparameters)
    rl = ReinforcementMethod.model_validate(reinforcement(hyperparameters={"eval_samples": 4}))
    assert isinstance(rl.hyperparameters, ReinforcementHyperparameters)


def test_method_hyperparameter_ranges_apply() -> None:
    with pytest.raises(ValidationError, match="beta\n  Value error, must be a number with 0 <"):
        DpoMethod.model_validate({"hyperparameters": {"beta": 3}})


# --- reinforcement ---------------------------------------------------------------------------


def test_reinforcement_needs_a_grader() -> None:
    with pytest.raises(ValidationError, match="grader\n  Field required"):
        ReinforcementMethod.model_validate({})


def test_reinforcement_grader_refuses_label_model() -> None:
    with pytest.raises(ValidationError, match="label_model grader can only be used inside a multi"):
        ReinforcementMethod.model_validate(reinforcement(grader=label_model()))


def test_reinforcement_grader_refuses_cosine_inside_multi() -> None:
    graders = {"accuracy": string_check(), "style": text_similarity(evaluation_metric="cosine")}
    with pytest.raises(ValidationError, match="'cosine', which is for evals only"):
        ReinforcementMethod.model_validate(reinforcement(grader=multi(graders)))


def test_reinforcement_takes_a_multi_grader() -> None:
    method = ReinforcementMethod.model_validate(reinforcement(grader=multi()))
    assert method.grader.type == "multi"


# --- response_format -------------------------------------------------------------------------


def test_response_format_schema_dumps_by_its_json_key() -> None:
    raw = response_format(description="The answer.")
    fmt = ResponseFormat.model_validate(raw)
    assert fmt.json_schema.schema_["required"] == ["answer"]
    assert fmt.model_dump() == raw  # serialize_by_alias: `schema`, never `schema_`
    assert fmt.model_dump(by_alias=True) == raw
    assert ResponseFormat.model_validate_json(fmt.model_dump_json()) == fmt


def test_response_format_keeps_nulls_inside_the_schema() -> None:
    method = ReinforcementMethod.model_validate(reinforcement(response_format=response_format()))
    dumped = method.model_dump(mode="json", exclude_none=True)
    assert dumped["response_format"] == response_format()


def test_response_format_field_name_is_not_an_input_key() -> None:
    raw = response_format()
    raw["json_schema"]["schema_"] = raw["json_schema"].pop("schema")
    with pytest.raises(ValidationError, match="schema_\n  Extra inputs are not permitted"):
        ResponseFormat.model_validate(raw)


def test_json_schema_format_can_be_built_in_python() -> None:
    fmt = JsonSchemaFormat(name="x", schema={"type": "object"})
    assert fmt.model_dump(exclude_none=True) == {"name": "x", "schema": {"type": "object"}}


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "dot.name", "ünï"])
def test_json_schema_name_is_1_to_64_safe_characters(name: str) -> None:
    with pytest.raises(ValidationError, match="json_schema name must be 1 to 64 of a-z A-Z 0-9 _"):
        ResponseFormat.model_validate(response_format(name=name))


@pytest.mark.parametrize("name", ["a", "A-b_9", "x" * 64])
def test_json_schema_name_accepts(name: str) -> None:
    assert ResponseFormat.model_validate(response_format(name=name)).json_schema.name == name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strict": "yes"}, "valid boolean"),
        ({"strict": 1}, "valid boolean"),
        ({"schema": "object"}, "valid dictionary"),
        ({"description": 3}, "valid string"),
    ],
)
def test_json_schema_field_types(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ResponseFormat.model_validate(response_format(**changes))


def test_response_format_type_is_json_schema() -> None:
    with pytest.raises(ValidationError, match="Input should be 'json_schema'"):
        ResponseFormat.model_validate({**response_format(), "type": "json_object"})


# --- round trips -----------------------------------------------------------------------------


def _auto_or(numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just("auto"), numbers)


_supervised = st.fixed_dictionaries(
    {},
    optional={
        "n_epochs": _auto_or(st.integers(1, 50)),
        "batch_size": _auto_or(st.integers(1, 256)),
        "learning_rate_multiplier": _auto_or(st.floats(0.01, 10)),
    },
)


@given(hyperparameters=_supervised, kind=st.sampled_from(["supervised", "dpo"]))
def test_method_round_trips_through_json(hyperparameters: dict[str, Any], kind: str) -> None:
    raw = {"type": kind, kind: {"hyperparameters": hyperparameters}}
    method = Method.model_validate(raw)
    assert Method.model_validate_json(method.model_dump_json(exclude_none=True)) == method
    assert method.model_dump(mode="json", exclude_none=True) == raw

"""The hyperparameter models and RULES: API_FACTS section 2, value by value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ftsweep.api.hyperparameters import (
    AUTO,
    METHODS,
    RULES,
    DpoHyperparameters,
    ReinforcementHyperparameters,
    SupervisedHyperparameters,
    hyperparameters_for,
)

MODELS: dict[str, type[BaseModel]] = {
    "supervised": SupervisedHyperparameters,
    "dpo": DpoHyperparameters,
    "reinforcement": ReinforcementHyperparameters,
}

# (name, accepted values, refused values) for every hyperparameter, per API_FACTS section 2.
RANGES: list[tuple[str, list[Any], list[Any]]] = [
    ("n_epochs", [1, 3, 50, AUTO], [0, 51, -1]),
    ("batch_size", [1, 32, 256, AUTO], [0, 257]),
    ("learning_rate_multiplier", [1e-9, 0.1, 2, 1000.0, AUTO], [0, 0.0, -0.5]),
    ("beta", [1e-9, 0.1, 2, 2.0, AUTO], [0, -1, 2.0001, 3]),
    ("compute_multiplier", [0.0000101, 1, 10, AUTO], [0.00001, 0, 10.5, 11]),
    ("eval_interval", [1, 10, 10_000, 2**31 - 1, AUTO], [0, -3, 2**31, 10**23]),
    ("eval_samples", [1, 10, 10_000, 2**31 - 1, AUTO], [0, -3, 2**31, 10**23]),
    ("reasoning_effort", ["default", "low", "medium", "high"], [AUTO, "none", "xhigh", 1]),
]


def model_for(name: str) -> type[BaseModel]:
    """The smallest model that has `name`."""
    return next(MODELS[m] for m in METHODS if m in RULES[name].methods)


def test_ranges_table_covers_every_rule() -> None:
    assert {name for name, _, _ in RANGES} == set(RULES)


def test_rule_methods_match_the_models() -> None:
    for method, model in MODELS.items():
        expected = {name for name, rule in RULES.items() if method in rule.methods}
        assert set(model.model_fields) == expected
        assert hyperparameters_for(method) is model


@pytest.mark.parametrize(
    ("name", "value"), [(name, v) for name, ok, _ in RANGES for v in ok], ids=str
)
def test_accepted_values(name: str, value: Any) -> None:
    model = model_for(name).model_validate({name: value})
    assert getattr(model, name) == value
    assert RULES[name].check(value) is None


@pytest.mark.parametrize(
    ("name", "value"), [(name, v) for name, _, bad in RANGES for v in bad], ids=str
)
def test_refused_values(name: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=f"{name}\n"):
        model_for(name).model_validate({name: value})
    assert RULES[name].check(value) is not None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("n_epochs", 0, "must be an integer from 1 to 50, or 'auto'"),
        ("batch_size", 257, "must be an integer from 1 to 256, or 'auto'"),
        ("learning_rate_multiplier", 0, "must be a number > 0, or 'auto'"),
        ("beta", 2.5, "must be a number with 0 < x <= 2, or 'auto'"),
        ("compute_multiplier", 0.00001, r"must be a number with 1e-05 < x <= 10, or 'auto'"),
        ("eval_interval", 0, "must be an integer from 1 to 2147483647, or 'auto'"),
        ("eval_samples", 0, "must be an integer from 1 to 2147483647, or 'auto'"),
        ("eval_samples", 2**31, "must be an integer from 1 to 2147483647, or 'auto'"),
    ],
)
def test_range_messages(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=f"{name}\n  Value error, {message}"):
        model_for(name).model_validate({name: value})


INT_NAMES = [name for name, rule in RULES.items() if rule.kind == "int"]
FLOAT_NAMES = [name for name, rule in RULES.items() if rule.kind == "float"]


@pytest.mark.parametrize("name", INT_NAMES)
def test_ints_stay_ints(name: str) -> None:
    model = model_for(name).model_validate({name: 3})
    assert type(getattr(model, name)) is int
    assert model.model_dump_json(exclude_none=True) == f'{{"{name}":3}}'


@pytest.mark.parametrize("name", INT_NAMES)
def test_integer_hyperparameters_refuse_floats(name: str) -> None:
    with pytest.raises(ValidationError, match=r"3.0 is not an integer"):
        model_for(name).model_validate({name: 3.0})


@pytest.mark.parametrize("name", FLOAT_NAMES)
def test_float_hyperparameters_take_ints(name: str) -> None:
    model = model_for(name).model_validate({name: 1})
    assert getattr(model, name) == 1


@pytest.mark.parametrize("name", INT_NAMES + FLOAT_NAMES)
@pytest.mark.parametrize("value", [True, False, "3", "1.5", "AUTO", " auto", None, [1], {}])
def test_bools_strings_and_others_are_refused(name: str, value: Any) -> None:
    if value is None:  # None means "not given" in the models; the rule itself refuses it
        assert RULES[name].check(value) is not None
        return
    with pytest.raises(ValidationError, match=f"{name}\n  Value error, must be "):
        model_for(name).model_validate({name: value})


@pytest.mark.parametrize("name", FLOAT_NAMES)
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_floats_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValidationError, match=f"{name}\n  Value error, must be "):
        model_for(name).model_validate({name: value})


def test_reasoning_effort_is_an_enum_never_auto() -> None:
    rule = RULES["reasoning_effort"]
    assert not rule.allows_auto
    assert rule.choices == ("default", "low", "medium", "high")
    assert rule.describe() == "one of 'default', 'low', 'medium', 'high'"
    with pytest.raises(ValidationError, match="Input should be 'default', 'low', 'medium' or"):
        ReinforcementHyperparameters.model_validate({"reasoning_effort": AUTO})


def test_allow_auto_false_refuses_auto() -> None:
    assert RULES["n_epochs"].check(AUTO, allow_auto=False) is not None
    assert RULES["n_epochs"].check(AUTO) is None


@pytest.mark.parametrize("method", METHODS)
def test_unknown_keys_are_refused(method: str) -> None:
    with pytest.raises(ValidationError, match="epochs\n  Extra inputs are not permitted"):
        MODELS[method].model_validate({"epochs": 3})


@pytest.mark.parametrize(
    ("method", "key"),
    [("supervised", "beta"), ("supervised", "eval_samples"), ("dpo", "reasoning_effort")],
)
def test_other_methods_keys_are_refused(method: str, key: str) -> None:
    with pytest.raises(ValidationError, match=f"{key}\n  Extra inputs are not permitted"):
        MODELS[method].model_validate({key: AUTO})


def test_models_are_frozen() -> None:
    model = SupervisedHyperparameters(n_epochs=3)
    with pytest.raises(ValidationError, match="Instance is frozen"):
        model.n_epochs = 4  # type: ignore[misc]


@given(
    n_epochs=st.integers(1, 50),
    batch_size=st.integers(1, 256),
    lr=st.floats(min_value=1e-12, max_value=1e6),
)
def test_valid_values_round_trip_through_json(n_epochs: int, batch_size: int, lr: float) -> None:
    raw = {"n_epochs": n_epochs, "batch_size": batch_size, "learning_rate_multiplier": lr}
    model = SupervisedHyperparameters.model_validate(raw)
    again = SupervisedHyperparameters.model_validate_json(model.model_dump_json())
    assert again == model and again.model_dump() == raw
    assert type(again.n_epochs) is int and type(again.batch_size) is int


@given(value=st.integers(-1000, 1000) | st.floats(allow_nan=True, allow_infinity=True))
def test_models_and_rules_agree(value: float) -> None:
    for name in INT_NAMES + FLOAT_NAMES:
        refused = RULES[name].check(value) is not None
        try:
            model_for(name).model_validate({name: value})
        except ValidationError:
            assert refused
        else:
            assert not refused

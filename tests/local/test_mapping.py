"""The job body -> TRL config rules of ftsweep.local.mapping."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from ftsweep.data.cost import auto_epochs
from ftsweep.local.mapping import (
    MappingError,
    auto_batch_size,
    plan_trial,
    split_batch,
)


def body(method: str, seed: int | None = 42, **hyperparameters: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "m", "method": {"type": method, method: {}}}
    if hyperparameters:
        out["method"][method]["hyperparameters"] = hyperparameters
    if seed is not None:
        out["seed"] = seed
    return out


def test_batch_size_splits_into_device_batch_and_accumulation() -> None:
    assert split_batch(8, 8) == (8, 1)
    assert split_batch(12, 8) == (6, 2)
    assert split_batch(32, 8) == (8, 4)
    assert split_batch(7, 4) == (1, 7)
    assert split_batch(3, 8) == (3, 1)
    plan = plan_trial(body("supervised", batch_size=24), {"max_device_batch": 4}, 100)
    assert plan.trl["per_device_train_batch_size"] * plan.trl["gradient_accumulation_steps"] == 24
    assert plan.trl["per_device_train_batch_size"] == 4


def test_auto_batch_size_is_two_per_mille_as_a_power_of_two() -> None:
    assert [auto_batch_size(n) for n in (1, 10, 499, 750, 1000, 4000, 10**6)] == [
        1,
        1,
        1,
        2,
        2,
        8,
        256,
    ]
    assert plan_trial(body("supervised"), {}, 4000).resolved["batch_size"] == 8


@pytest.mark.parametrize(
    ("method", "base"), [("supervised", 2e-5), ("dpo", 1e-6), ("reinforcement", 1e-6)]
)
def test_learning_rate_is_base_times_multiplier(method: str, base: float) -> None:
    plan = plan_trial(body(method, learning_rate_multiplier=2.5), {}, 20)
    assert plan.trl["learning_rate"] == pytest.approx(base * 2.5)
    assert plan.resolved["learning_rate_multiplier"] == 2.5
    auto = plan_trial(body(method), {"base_learning_rate": {method: 3e-4}}, 20)
    assert auto.trl["learning_rate"] == pytest.approx(3e-4)
    assert auto.resolved["learning_rate_multiplier"] == 1.0


def test_default_bases_are_trls_own() -> None:
    from trl import DPOConfig, GRPOConfig, SFTConfig

    from ftsweep.local.mapping import BASE_LEARNING_RATE

    fields = {
        c: c.__dataclass_fields__["learning_rate"].default
        for c in (SFTConfig, DPOConfig, GRPOConfig)
    }
    assert BASE_LEARNING_RATE == {
        "supervised": fields[SFTConfig],
        "dpo": fields[DPOConfig],
        "reinforcement": fields[GRPOConfig],
    }


@pytest.mark.parametrize("examples", [5, 10, 40, 1000, 20_000])
def test_auto_epochs_follow_the_platform_rule(examples: int) -> None:
    plan = plan_trial(body("supervised", n_epochs="auto"), {}, examples)
    assert plan.resolved["n_epochs"] == plan.trl["num_train_epochs"] == auto_epochs(examples)
    assert plan_trial(body("supervised", n_epochs=2), {}, examples).trl["num_train_epochs"] == 2


def test_beta_is_dpo_beta_and_never_grpo_beta() -> None:
    assert plan_trial(body("dpo", beta=0.5), {}, 20).trl["beta"] == 0.5
    auto = plan_trial(body("dpo"), {}, 20)
    assert auto.resolved["beta"] == auto.trl["beta"] == 0.1
    assert "beta" not in plan_trial(body("reinforcement"), {}, 20).trl
    assert "beta" not in plan_trial(body("supervised"), {}, 20).trl


@pytest.mark.parametrize(
    ("batch", "multiplier", "generations"),
    [(8, "auto", 4), (8, 2.0, 8), (8, 0.5, 2), (12, 1.0, 4), (9, 1.0, 3), (7, 1.0, 7), (6, 1.0, 3)],
)
def test_num_generations_divide_the_batch(batch: int, multiplier: Any, generations: int) -> None:
    plan = plan_trial(
        body("reinforcement", batch_size=batch, compute_multiplier=multiplier), {}, 40
    )
    trl = plan.trl
    assert trl["num_generations"] == generations
    assert (
        trl["per_device_train_batch_size"] * trl["gradient_accumulation_steps"]
    ) % generations == 0
    assert trl["per_device_eval_batch_size"] % generations == 0


def test_reinforcement_auto_batch_holds_whole_groups() -> None:
    plan = plan_trial(body("reinforcement"), {}, 20)
    assert plan.resolved["batch_size"] == 4 and plan.trl["num_generations"] == 4
    one = plan_trial(body("reinforcement", batch_size=1), {}, 20)
    assert one.resolved["batch_size"] == 2 and one.trl["num_generations"] == 2
    big = plan_trial(body("reinforcement", compute_multiplier=2.0), {}, 4000)
    assert big.resolved["batch_size"] == 8 and big.trl["num_generations"] == 8


def test_reinforcement_knobs() -> None:
    plan = plan_trial(
        body("reinforcement", eval_interval=3, eval_samples=5, reasoning_effort="high"), {}, 20, 50
    )
    assert plan.trl["eval_steps"] == 3 and plan.trl["eval_strategy"] == "steps"
    assert plan.valid_rows == 5
    assert plan.trl["chat_template_kwargs"] == {"reasoning_effort": "high"}
    auto = plan_trial(body("reinforcement"), {}, 20, 50)
    assert auto.resolved["eval_samples"] == 10 and auto.valid_rows == 10
    assert auto.resolved["reasoning_effort"] == "default"
    assert "chat_template_kwargs" not in auto.trl
    assert auto.resolved["eval_interval"] == auto.trl["eval_steps"] == -(-auto.planned_steps // 10)


def test_planned_steps_follow_transformers_count() -> None:
    plan = plan_trial(body("supervised", batch_size=4, n_epochs=3), {}, 10)
    assert plan.planned_steps == 9  # ceil(10 / 4) = 3 updates an epoch
    accumulated = plan_trial(
        body("supervised", batch_size=12, n_epochs=1), {"max_device_batch": 4}, 10
    )
    assert accumulated.planned_steps == 1  # 3 micro-batches, accumulation 3


def test_max_steps_caps_but_never_adds_epochs() -> None:
    capped = plan_trial(body("supervised", batch_size=2, n_epochs=2), {"max_steps": 3}, 10)
    assert capped.trl["max_steps"] == 3 and capped.planned_steps == 3
    loose = plan_trial(body("supervised", batch_size=2, n_epochs=2), {"max_steps": 100}, 10)
    assert "max_steps" not in loose.trl and loose.planned_steps == 10


def test_evaluation_follows_the_validation_file() -> None:
    none = plan_trial(body("supervised", batch_size=4), {}, 20)
    assert none.trl["eval_strategy"] == "no" and none.valid_rows is None
    some = plan_trial(body("supervised", batch_size=4), {}, 20, 3)
    assert some.trl["eval_strategy"] == "steps" and some.valid_rows == 3
    assert some.trl["per_device_eval_batch_size"] == 4


def test_seed() -> None:
    assert plan_trial(body("dpo", seed=7), {}, 20).trl["seed"] == 7
    assert plan_trial(body("dpo", seed=None), {}, 20).trl["data_seed"] == 42


def test_bad_bodies() -> None:
    with pytest.raises(MappingError, match="method.type must be one of"):
        plan_trial({"method": {"type": "rlhf"}}, {}, 10)
    with pytest.raises(MappingError, match="no examples"):
        plan_trial(body("supervised"), {}, 0)


def test_mapping_imports_no_torch() -> None:
    heavy = "{'torch', 'transformers', 'trl', 'datasets', 'peft'}"
    code = f"import sys, ftsweep.local.mapping; print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# TRL's configs default `gradient_checkpointing=True`, a field transformers 5 renamed.
@pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning")
@pytest.mark.parametrize("batch", [1, 6, 7, 8, 12, 32])
def test_grpo_config_accepts_every_plan(batch: int, tmp_path: Any) -> None:
    from trl import GRPOConfig

    plan = plan_trial(body("reinforcement", batch_size=batch), {}, 40, 20)
    GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", **plan.trl)

"""Job bodies: the fast renderer emits exactly what the validated JobRequest model would."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftsweep.api.hyperparameters import RULES
from ftsweep.api.job import JobRequest
from ftsweep.errors import SweepFileError
from ftsweep.sweep import Sweep, loads_sweep, plan
from ftsweep.sweep.jobs import JobRenderer, trial_key
from ftsweep.sweep.strategies import sequence

from .conftest import (
    MODEL,
    MULTI_GRADER,
    RESPONSE_FORMAT,
    STRING_CHECK,
    canonical,
    sweep_yaml,
    walk,
)

SUPERVISED = sweep_yaml(
    "supervised",
    """\
  learning_rate_multiplier: {low: 0.5, high: 2.0, log: true, num: 3}
  n_epochs: [2, 3, 4]
  batch_size: [auto, 8]
""",
    """\
job:
  seed: 42
  suffix: "{sweep}-{trial}-lr{learning_rate_multiplier}"
  metadata: {team: search, epochs: "{n_epochs}"}
  integrations:
    - type: wandb
      wandb: {project: sweeps, tags: [a, b]}
""",
    name="sft",
)

DPO_UNION = sweep_yaml(
    "dpo",
    """\
  - beta: {low: 0.02, high: 2.0, log: true}
    learning_rate_multiplier: {low: 0.1, high: 4.0, log: true, auto: true}
    n_epochs: {low: 1, high: 5, auto: true}
    batch_size: [auto, 4, 8, 16]
  - model: [gpt-a, gpt-b]
    n_epochs: [1, 2, 3]
    beta: [0.1, 0.2, 0.4]
    zip: [[n_epochs, beta]]
""",
    "strategy: random\nmax_trials: 500\nseed: 9\njob:\n  suffix: '{model}-{beta}'\n",
    name="dpo-union",
)

REINFORCEMENT: dict[str, Any] = {
    "name": "rft",
    "method": "reinforcement",
    "model": "o4-mini-2025-04-16",
    "training_file": "file-train",
    "validation_file": "file-valid",
    "strategy": "sobol",
    "max_trials": 300,
    "seed": 1,
    "space": {
        "reasoning_effort": ["low", "medium", "high"],
        "compute_multiplier": {"low": 0.5, "high": 2.0, "log": True, "auto": True},
        "n_epochs": {"low": 1, "high": 4},
        "batch_size": {"low": 1, "high": 64, "log": True},
        "eval_interval": [1, 5, "auto"],
        "eval_samples": {"low": 1, "high": 10, "step": 3},
        "learning_rate_multiplier": "auto",
    },
    "job": {"suffix": "rft-{trial}-{reasoning_effort}", "metadata": {"cm": "{compute_multiplier}"}},
    "grader": MULTI_GRADER,
    "response_format": RESPONSE_FORMAT,
}

MODEL_ONLY = sweep_yaml("supervised", "  model: [gpt-a, gpt-b, gpt-c]\n").replace(
    f"model: {MODEL}\n", ""
)

SWEEPS = {
    "supervised": lambda: loads_sweep(SUPERVISED),
    "dpo-union": lambda: loads_sweep(DPO_UNION),
    "reinforcement": lambda: loads_sweep(json.dumps(REINFORCEMENT), "json"),
    "model-only": lambda: loads_sweep(MODEL_ONLY),
}


def check_body(sweep: Sweep, index: int, body: dict[str, Any]) -> None:
    """Everything a body must be, for trial `index` of `sweep`."""
    assert canonical(JobRequest.model_validate(body).to_body()) == canonical(body)
    assert all(value is not None for _, value in walk(body))
    assert "hyperparameters" not in body
    assert body["metadata"]["ftsweep_sweep"] == sweep.name
    assert (
        body["metadata"]["ftsweep_trial"]
        == trial_key(sweep.name, index)
        == f"{sweep.name}-{index:04d}"
    )
    method = body["method"]
    assert set(method) == {"type", sweep.method}
    assert method["type"] == sweep.method
    allowed = {name for name, rule in RULES.items() if sweep.method in rule.methods}
    hyperparameters = method[sweep.method].get("hyperparameters", {})
    assert set(hyperparameters) <= allowed
    for name, value in hyperparameters.items():
        assert RULES[name].check(value) is None
        if RULES[name].kind == "int" and value != "auto":
            assert type(value) is int
        if RULES[name].kind == "float" and value != "auto":
            assert type(value) is float


@pytest.mark.parametrize("shape", sorted(SWEEPS))
def test_planned_bodies_are_what_the_model_emits(shape: str) -> None:
    sweep = SWEEPS[shape]()
    count = 0
    for trial, body in zip(plan(sweep, 120), plan(sweep, 120).bodies(), strict=True):
        check_body(sweep, trial.index, body)
        count += 1
    assert count == min(120, sweep.plan_size or 120)


@pytest.mark.parametrize("shape", ["dpo-union", "reinforcement"])
@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 10**6))
def test_bodies_of_far_trials(shape: str, index: int) -> None:
    sweep = SWEEPS[shape]()
    params = next(sequence(sweep.space, "random", sweep.spec.seed, index))
    check_body(sweep, index, JobRenderer(sweep).body(index, params))


def test_supervised_body() -> None:
    sweep = loads_sweep(SUPERVISED)
    bodies = list(plan(sweep).bodies())
    assert len(bodies) == 18
    assert bodies[1] == {
        "model": MODEL,
        "training_file": "file-train",
        "suffix": "sft-0001-lr0.5",
        "seed": 42,
        "metadata": {
            "team": "search",
            "epochs": "2",
            "ftsweep_sweep": "sft",
            "ftsweep_trial": "sft-0001",
        },
        "integrations": [{"type": "wandb", "wandb": {"project": "sweeps", "tags": ["a", "b"]}}],
        "method": {
            "type": "supervised",
            "supervised": {
                "hyperparameters": {"learning_rate_multiplier": 0.5, "n_epochs": 2, "batch_size": 8}
            },
        },
    }
    assert bodies[-1]["suffix"] == "sft-0017-lr2"


def test_ints_stay_ints_in_bodies() -> None:
    sweep = loads_sweep(sweep_yaml(space="  n_epochs: 3\n  learning_rate_multiplier: 2\n"))
    body = next(plan(sweep).bodies())
    hyperparameters = body["method"]["supervised"]["hyperparameters"]
    assert json.dumps(hyperparameters) == '{"n_epochs": 3, "learning_rate_multiplier": 2.0}'


def test_reinforcement_body_carries_grader_and_response_format() -> None:
    sweep = SWEEPS["reinforcement"]()
    body = next(plan(sweep, 1).bodies())
    config = body["method"]["reinforcement"]
    assert config["grader"] == MULTI_GRADER
    assert config["response_format"] == RESPONSE_FORMAT
    assert body["validation_file"] == "file-valid"
    assert body["suffix"].startswith("rft-0000-")


def test_a_single_grader_under_multi_is_keyed_by_name() -> None:
    single = {**MULTI_GRADER, "graders": STRING_CHECK, "calculate_output": "accuracy"}
    sweep = loads_sweep(json.dumps({**REINFORCEMENT, "grader": single}), "json")
    body = next(plan(sweep, 1).bodies())
    assert body["method"]["reinforcement"]["grader"]["graders"] == {"accuracy": STRING_CHECK}
    check_body(sweep, 0, body)


def test_model_dimension_sets_the_model_and_leaves_no_hyperparameters() -> None:
    sweep = SWEEPS["model-only"]()
    bodies = list(plan(sweep).bodies())
    assert [b["model"] for b in bodies] == ["gpt-a", "gpt-b", "gpt-c"]
    assert all(b["method"] == {"type": "supervised", "supervised": {}} for b in bodies)


def test_model_dimension_in_one_subspace_with_a_top_level_model() -> None:
    text = sweep_yaml(
        "dpo",
        "  - model: [gpt-a, gpt-b]\n    beta: 0.1\n  - beta: 0.2\n",
        "job:\n  suffix: '{model}-{trial}'\n",
    )
    sweep = loads_sweep(text)
    bodies = list(plan(sweep).bodies())
    assert [b["model"] for b in bodies] == ["gpt-a", "gpt-b", MODEL]
    assert [b["suffix"] for b in bodies] == ["gpt-a-0000", "gpt-b-0001", f"{MODEL}-0002"]
    for i, body in enumerate(bodies):
        check_body(sweep, i, body)


def test_a_long_top_level_model_counts_in_the_suffix_limit() -> None:
    model = "m" * 60
    text = sweep_yaml(
        "dpo",
        "  - model: [gpt-a, gpt-b]\n    beta: 0.1\n  - beta: 0.2\n",
        "job:\n  suffix: '{model}-{trial}'\n",
    ).replace(f"model: {MODEL}", f"model: {model}")
    with pytest.raises(
        SweepFileError, match=r"job\.suffix: can be 65 characters long once filled in"
    ):
        loads_sweep(text)


def test_fixed_values_and_auto() -> None:
    sweep = loads_sweep(sweep_yaml("dpo", "  beta: auto\n  batch_size: [auto, 4]\n"))
    hyperparameters = [b["method"]["dpo"]["hyperparameters"] for b in plan(sweep).bodies()]
    assert hyperparameters == [
        {"beta": "auto", "batch_size": "auto"},
        {"beta": "auto", "batch_size": 4},
    ]


def test_request_validates_the_same_body() -> None:
    sweep = loads_sweep(DPO_UNION)
    renderer = JobRenderer(sweep)
    for index, params in itertools.islice(plan(sweep, 20).items(), 20):
        assert canonical(renderer.request(index, params).to_body()) == canonical(
            renderer.body(index, params)
        )
    assert renderer.key(7) == "dpo-union-0007"


def test_bodies_do_not_share_metadata() -> None:
    renderer = JobRenderer(loads_sweep(SUPERVISED))
    first = renderer.body(0, {"n_epochs": 2})
    first["metadata"]["team"] = "changed"
    assert renderer.body(1, {"n_epochs": 2})["metadata"]["team"] == "search"


def test_trial_key() -> None:
    assert trial_key("dpo-beta", 7) == "dpo-beta-0007"
    assert trial_key("x", 12345) == "x-12345"

"""The job request: job-level limits, and the body `to_body()` renders."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import ftsweep.api
from ftsweep.api.job import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_SEED,
    MAX_SUFFIX_LENGTH,
    JobRequest,
)

from .test_graders import multi, score_model
from .test_methods import response_format


def job(**changes: Any) -> dict[str, Any]:
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}
    raw = {"model": "gpt-4.1-mini-2025-04-14", "training_file": "file-train", "method": method}
    return {**raw, **changes}


def rl_job(grader: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    method = {"type": "reinforcement", "reinforcement": {"grader": grader or multi()}}
    return job(**{"method": method, "validation_file": "file-valid", **changes})


FULL_JOB = job(
    validation_file="file-valid",
    suffix="sweep-0001",
    seed=42,
    metadata={"ftsweep_sweep": "lr", "ftsweep_trial": "0001"},
    integrations=[
        {
            "type": "wandb",
            "wandb": {"project": "ft", "entity": "team", "name": "run", "tags": ["a", "b"]},
        }
    ],
)


# --- to_body ---------------------------------------------------------------------------------


def test_to_body_of_a_minimal_job() -> None:
    assert JobRequest.model_validate(job()).to_body() == job()


def test_to_body_of_a_full_job() -> None:
    assert JobRequest.model_validate(FULL_JOB).to_body() == FULL_JOB


def test_to_body_drops_none_and_unset_fields() -> None:
    body = JobRequest.model_validate(job(suffix=None, seed=None)).to_body()
    assert set(body) == {"model", "training_file", "method"}
    hyperparameters = {"n_epochs": 2, "batch_size": None}
    method = {"type": "dpo", "dpo": {"hyperparameters": hyperparameters}}
    body = JobRequest.model_validate(job(method=method)).to_body()
    assert body["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2}}}


def test_to_body_never_has_top_level_hyperparameters() -> None:
    assert "hyperparameters" not in JobRequest.model_validate(FULL_JOB).to_body()
    with pytest.raises(ValidationError, match="hyperparameters\n  Extra inputs are not permitted"):
        JobRequest.model_validate(job(hyperparameters={"n_epochs": 3}))


def test_to_body_keeps_ints_as_ints() -> None:
    hyperparameters = {"n_epochs": 3, "batch_size": 16, "learning_rate_multiplier": 0.5}
    method = {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}
    body = JobRequest.model_validate(job(method=method, seed=7)).to_body()
    assert body["method"]["supervised"]["hyperparameters"] == hyperparameters
    assert type(body["method"]["supervised"]["hyperparameters"]["n_epochs"]) is int
    assert '"n_epochs": 3}' in json.dumps(body) and '"seed": 7,' in json.dumps(body)


def test_to_body_is_json_ready_with_the_schema_alias() -> None:
    config = {"grader": score_model(range=[0, 5]), "response_format": response_format()}
    method = {"type": "reinforcement", "reinforcement": config}
    body = JobRequest.model_validate(rl_job(method=method)).to_body()
    assert json.loads(json.dumps(body)) == body  # lists, not tuples; plain JSON types
    assert body["method"]["reinforcement"]["response_format"] == response_format()
    assert body["method"]["reinforcement"]["grader"]["range"] == [0, 5]


def test_to_body_emits_the_keyed_multi_grader() -> None:
    single = rl_job(grader=multi(score_model(), formula="judge"))
    body = JobRequest.model_validate(single).to_body()
    assert body["method"]["reinforcement"]["grader"]["graders"] == {"judge": score_model()}


# --- job-level rules -------------------------------------------------------------------------


def test_reinforcement_needs_a_validation_file() -> None:
    with pytest.raises(ValidationError, match="reinforcement fine-tuning needs a validation_file"):
        JobRequest.model_validate(rl_job(validation_file=None))


def test_supervised_does_not_need_a_validation_file() -> None:
    assert JobRequest.model_validate(job()).validation_file is None


@pytest.mark.parametrize("field", ["model", "training_file", "validation_file"])
def test_names_and_files_are_non_empty(field: str) -> None:
    with pytest.raises(ValidationError, match="String should have at least 1 character"):
        JobRequest.model_validate(job(**{field: ""}))


def test_method_is_required() -> None:
    raw = job()
    del raw["method"]
    with pytest.raises(ValidationError, match="method\n  Field required"):
        JobRequest.model_validate(raw)


@pytest.mark.parametrize(("suffix", "ok"), [("a", True), ("x" * 64, True), ("", False)])
def test_suffix_length_bounds(suffix: str, ok: bool) -> None:
    if ok:
        assert JobRequest.model_validate(job(suffix=suffix)).suffix == suffix
    else:
        with pytest.raises(ValidationError, match="at least 1 character"):
            JobRequest.model_validate(job(suffix=suffix))


def test_suffix_over_64_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="String should have at most 64 characters"):
        JobRequest.model_validate(job(suffix="x" * (MAX_SUFFIX_LENGTH + 1)))


@pytest.mark.parametrize("seed", [0, 1, MAX_SEED])
def test_seed_range(seed: int) -> None:
    assert JobRequest.model_validate(job(seed=seed)).to_body()["seed"] == seed


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (-1, "greater than or equal to 0"),
        (MAX_SEED + 1, "less than or equal to 2147483647"),
        (True, "valid integer"),
        (1.0, "valid integer"),
        ("1", "valid integer"),
    ],
)
def test_seed_is_a_strict_int_in_range(seed: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobRequest.model_validate(job(seed=seed))


def test_metadata_at_the_limits_is_taken() -> None:
    key, value = "k" * MAX_METADATA_KEY_LENGTH, "v" * MAX_METADATA_VALUE_LENGTH
    metadata = {f"{i:02d}{key[2:]}": value for i in range(MAX_METADATA_PAIRS)}
    assert JobRequest.model_validate(job(metadata=metadata)).to_body()["metadata"] == metadata


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({f"k{i}": "v" for i in range(17)}, "metadata has 17 pairs; at most 16"),
        ({"k" * 65: "v"}, "metadata key 'k+' has 65 characters; keys need 1 to 64"),
        ({"": "v"}, "metadata key '' has 0 characters; keys need 1 to 64"),
        ({"k": "v" * 513}, "metadata value of 'k' has 513 characters; at most 512"),
        ({"k": 1}, "metadata.k\n  Input should be a valid string"),
        ({"k": None}, "metadata.k\n  Input should be a valid string"),
        ({"k": True}, "metadata.k\n  Input should be a valid string"),
    ],
)
def test_metadata_limits(metadata: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobRequest.model_validate(job(metadata=metadata))


@pytest.mark.parametrize(
    ("integration", "message"),
    [
        ({"type": "wandb", "wandb": {}}, "project\n  Field required"),
        ({"type": "mlflow", "wandb": {"project": "p"}}, "Input should be 'wandb'"),
        ({"type": "wandb", "wandb": {"project": "p", "team": "t"}}, "team\n  Extra inputs"),
        ({"type": "wandb", "wandb": {"project": "p", "tags": "a"}}, "valid tuple"),
    ],
)
def test_integrations_are_wandb_only(integration: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobRequest.model_validate(job(integrations=[integration]))


# --- round trips -----------------------------------------------------------------------------

_key = st.text(st.characters(codec="utf-8"), min_size=1, max_size=MAX_METADATA_KEY_LENGTH)
_value = st.text(st.characters(codec="utf-8"), max_size=40)


@given(
    metadata=st.dictionaries(_key, _value, max_size=MAX_METADATA_PAIRS),
    seed=st.none() | st.integers(0, MAX_SEED),
    n_epochs=st.just("auto") | st.integers(1, 50),
    lr=st.just("auto") | st.floats(1e-6, 100),
)
def test_job_round_trips_through_json(
    metadata: dict[str, str], seed: int | None, n_epochs: Any, lr: Any
) -> None:
    hyperparameters = {"n_epochs": n_epochs, "learning_rate_multiplier": lr}
    method = {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}
    request = JobRequest.model_validate(job(metadata=metadata, seed=seed, method=method))
    body = request.to_body()
    assert JobRequest.model_validate_json(json.dumps(body)) == request
    assert JobRequest.model_validate(body).to_body() == body
    assert body["method"]["supervised"]["hyperparameters"]["n_epochs"] == n_epochs


# --- the package surface ---------------------------------------------------------------------

EXPORTED = {
    # hyperparameters
    *("AUTO", "METHODS", "RULES", "DpoHyperparameters", "HyperparameterRule", "MethodName"),
    *("ReasoningEffort", "ReinforcementHyperparameters", "SupervisedHyperparameters"),
    "hyperparameters_for",
    # graders
    *("EVALUATION_METRICS", "FORMULA_FUNCTIONS", "MAX_PYTHON_SOURCE_BYTES", "SAMPLE_FIELDS"),
    *("AnyGrader", "AudioData", "ContentPart", "EvaluationMetric", "Grader", "GraderMessage"),
    *("InputAudio", "InputImage", "InputText", "LabelModelGrader", "MultiGrader", "OutputText"),
    *("PythonGrader", "SamplingParams", "ScoreModelGrader", "StringCheckGrader", "SubGrader"),
    *("TextSimilarityGrader", "check_calculate_output", "grader_adapter", "parse_grader"),
    "template_references",
    # methods
    *("DpoMethod", "JsonSchemaFormat", "Method", "MethodConfig", "ReinforcementMethod"),
    *("ResponseFormat", "SupervisedMethod"),
    # job
    *("MAX_METADATA_KEY_LENGTH", "MAX_METADATA_PAIRS", "MAX_METADATA_VALUE_LENGTH", "MAX_SEED"),
    *("MAX_SUFFIX_LENGTH", "Integration", "JobRequest", "WandbSettings"),
}


def test_exported_names_are_the_intended_ones() -> None:
    assert set(ftsweep.api.__all__) == EXPORTED
    assert len(ftsweep.api.__all__) == len(EXPORTED)
    for name in EXPORTED:
        assert getattr(ftsweep.api, name) is not None


def test_limits_match_api_facts() -> None:
    limits = (MAX_METADATA_PAIRS, MAX_METADATA_KEY_LENGTH, MAX_METADATA_VALUE_LENGTH)
    assert limits == (16, 64, 512)
    assert (MAX_SUFFIX_LENGTH, MAX_SEED) == (64, 2**31 - 1)


def test_the_api_package_imports_no_sdk_optuna_or_pandas() -> None:
    code = (
        "import sys, ftsweep.api\n"
        "bad = sorted({'openai', 'optuna', 'pandas'} & set(sys.modules))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

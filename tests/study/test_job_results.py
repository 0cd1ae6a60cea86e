"""Job objects as the service returns them, and a job's per-step result rows.

The job objects here are built by hand the way the service sends them, and checked against the
official SDK's `FineTuningJob` model so that they stay realistic.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.fine_tuning import FineTuningJob

from ftsweep.api.job_object import JobInfo, error_text
from ftsweep.errors import ResultsError
from ftsweep.study.cells import whole
from ftsweep.study.results import TrialRef, parse_job
from ftsweep.study.steps import reduce_steps, unwrap_base64
from ftsweep.sweep.spec import Objective

OBJECTIVES = [Objective(metric="full_valid_loss")]

_SUPERVISED_HP: dict[str, str | int | float] = {
    "batch_size": 8,
    "learning_rate_multiplier": 1.8,
    "n_epochs": 3,
}
_GRADER = {
    "type": "string_check",
    "name": "exact",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "operation": "eq",
}
_METHODS: dict[str, dict[str, Any]] = {
    "supervised": {"type": "supervised", "supervised": {"hyperparameters": _SUPERVISED_HP}},
    "dpo": {
        "type": "dpo",
        "dpo": {
            "hyperparameters": {
                "batch_size": 4,
                "beta": 0.1,
                "learning_rate_multiplier": 0.5,
                "n_epochs": "auto",
            }
        },
    },
    "reinforcement": {
        "type": "reinforcement",
        "reinforcement": {
            "grader": _GRADER,
            "hyperparameters": {
                "batch_size": 16,
                "compute_multiplier": 1.0,
                "eval_interval": 5,
                "eval_samples": 2,
                "learning_rate_multiplier": 2.0,
                "n_epochs": 2,
                "reasoning_effort": "medium",
            },
        },
    },
}


def job(method: str | None = "supervised", **fields: Any) -> dict[str, Any]:
    """A succeeded job object as `GET /fine_tuning/jobs/{id}` returns it; `fields` override."""
    data: dict[str, Any] = {
        "object": "fine_tuning.job",
        "id": "ftjob-abc123",
        "model": "gpt-4.1-mini-2025-04-14",
        "created_at": 1754000000,
        "finished_at": 1754003600,
        "fine_tuned_model": "ft:gpt-4.1-mini-2025-04-14:acme:sft-0007:AbC123",
        "organization_id": "org-acme",
        "result_files": ["file-result1"],
        "status": "succeeded",
        "validation_file": "file-valid1",
        "training_file": "file-train1",
        # The service fills the top-level field only for supervised jobs (API_FACTS 3.8).
        "hyperparameters": _SUPERVISED_HP if method in ("supervised", None) else {},
        "trained_tokens": 120_000,
        "integrations": [],
        "seed": 42,
        "estimated_finish": None,
        "error": None,
        "metadata": {"ftsweep_sweep": "sft", "ftsweep_trial": "sft-0007"},
    }
    if method is not None:
        data["method"] = copy.deepcopy(_METHODS[method])
    data.update(fields)
    return data


FAILED_ERROR = {
    "code": "invalid_training_file",
    "message": "The file has 3 lines without a messages field.",
    "param": "training_file",
}


@pytest.mark.parametrize("method", ["supervised", "dpo", "reinforcement", None])
def test_fixtures_are_jobs_the_sdk_accepts(method: str | None) -> None:
    FineTuningJob.model_validate(job(method), strict=True)
    FineTuningJob.model_validate(
        job(
            method,
            status="failed",
            error=FAILED_ERROR,
            fine_tuned_model=None,
            trained_tokens=None,
            result_files=[],
        ),
        strict=True,
    )


# --- statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("succeeded", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
        ("validating_files", None),
        ("queued", None),
        ("running", None),
        ("paused", None),
    ],
)
def test_status(status: str, expected: str | None) -> None:
    result = parse_job(job(status=status), "jobs.json", 1)
    assert result.status == expected
    assert result.job is not None and result.job.status == status
    assert result.values == {}


def test_a_succeeded_job() -> None:
    result = parse_job(job(), "jobs.jsonl", 3)
    assert (result.source, result.row) == ("jobs.jsonl", 3)
    assert (result.trial, result.key, result.job_id) == (None, "sft-0007", "ftjob-abc123")
    assert result.ref == TrialRef("key", "sft-0007")
    assert result.trained_tokens == 120_000
    assert result.error is None
    assert result.job == JobInfo(
        id="ftjob-abc123",
        model="gpt-4.1-mini-2025-04-14",
        method="supervised",
        hyperparameters=_SUPERVISED_HP,
        status="succeeded",
        fine_tuned_model="ft:gpt-4.1-mini-2025-04-14:acme:sft-0007:AbC123",
        created_at=1754000000,
        finished_at=1754003600,
        metadata={"ftsweep_sweep": "sft", "ftsweep_trial": "sft-0007"},
        seed=42,
        files={"training_file": "file-train1", "validation_file": "file-valid1"},
    )


def test_a_failed_job_says_why() -> None:
    data = job(status="failed", error=FAILED_ERROR, trained_tokens=None, fine_tuned_model=None)
    result = parse_job(data, "jobs.json", 1)
    assert result.status == "failed"
    assert result.error == "invalid_training_file: The file has 3 lines without a messages field."
    assert result.trained_tokens is None


def test_the_sdk_dump_of_a_job_reads_the_same() -> None:
    dumped = FineTuningJob.model_validate(job("dpo")).model_dump()
    assert parse_job(dumped, "x", 1) == parse_job(job("dpo"), "x", 1)


def test_a_job_from_outside_ftsweep_is_named_by_its_id() -> None:
    result = parse_job(job(metadata=None), "jobs.json", 1)
    assert result.key is None
    assert result.ref == TrialRef("job_id", "ftjob-abc123")
    assert result.job is not None and result.job.metadata == {}


def test_metric_named_fields_of_a_job_are_not_values() -> None:
    data = job(full_valid_loss=0.3)
    assert parse_job(data, "jobs.json", 1).values == {}


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (None, None),
        ({}, None),
        ({"code": None, "message": None, "param": None}, None),
        ({"code": "server_error", "message": ""}, "server_error"),
        ({"message": "The job was stopped."}, "The job was stopped."),
    ],
)
def test_error_text(error: dict[str, Any] | None, text: str | None) -> None:
    assert error_text(error) == text
    assert parse_job(job(status="failed", error=error), "j", 1).error == text


# --- resolved hyperparameters, per method -------------------------------------------------------


def test_supervised_hyperparameters_come_from_the_method() -> None:
    data = job()
    data["method"]["supervised"]["hyperparameters"] = {"n_epochs": 4, "batch_size": "auto"}
    result = parse_job(data, "j", 1)
    assert result.resolved == {"n_epochs": 4, "batch_size": "auto", "learning_rate_multiplier": 1.8}
    assert result.job is not None and result.job.method == "supervised"


def test_dpo_hyperparameters_keep_auto() -> None:
    result = parse_job(job("dpo"), "j", 1)
    assert result.resolved == {
        "batch_size": 4,
        "beta": 0.1,
        "learning_rate_multiplier": 0.5,
        "n_epochs": "auto",
    }
    assert result.job is not None and result.job.method == "dpo"


def test_reinforcement_hyperparameters() -> None:
    result = parse_job(job("reinforcement"), "j", 1)
    assert result.resolved == _METHODS["reinforcement"]["reinforcement"]["hyperparameters"]
    assert result.job is not None and result.job.method == "reinforcement"


def test_the_top_level_hyperparameters_are_only_a_supervised_fallback() -> None:
    legacy = parse_job(job(None), "j", 1)
    assert legacy.resolved == _SUPERVISED_HP
    assert legacy.job is not None and legacy.job.method is None
    empty = job()
    empty["method"]["supervised"] = {}
    assert parse_job(empty, "j", 1).resolved == _SUPERVISED_HP
    dpo = job("dpo", hyperparameters={"n_epochs": 9})
    dpo["method"]["dpo"] = None
    assert parse_job(dpo, "j", 1).resolved == {}


def test_unknown_and_null_hyperparameters_are_left_out() -> None:
    data = job()
    data["method"]["supervised"]["hyperparameters"] = {"n_epochs": 2, "warmup": 5, "beta": None}
    assert parse_job(data, "j", 1).resolved == {
        "batch_size": 8,
        "learning_rate_multiplier": 1.8,
        "n_epochs": 2,
    }


def test_an_unknown_method_type_has_no_hyperparameters() -> None:
    data = job(method=None, hyperparameters={})
    data["method"] = {"type": "distillation", "distillation": {"hyperparameters": {"n_epochs": 2}}}
    result = parse_job(data, "j", 1)
    assert result.resolved == {}
    assert result.job is not None and result.job.method == "distillation"


# --- problems ---------------------------------------------------------------------------------


def test_every_problem_of_a_job_object_is_listed() -> None:
    data = job(trained_tokens=-1, status=None, metadata={"ftsweep_trial": 7})
    del data["id"]
    with pytest.raises(ResultsError, match=r"ftjob.json: 4 problems, nothing was told") as exc:
        parse_job(data, "ftjob.json", 2)
    rendered = str(exc.value)
    assert "ftjob.json:2: id: is required in a job object" in rendered
    assert "ftjob.json:2: status: Input should be a valid string (got None)" in rendered
    assert "trained_tokens: Input should be greater than or equal to 0 (got -1)" in rendered
    assert "metadata.ftsweep_trial: Input should be a valid string (got 7)" in rendered
    assert {p.line for p in exc.value.problems} == {2}


def test_a_hyperparameter_of_the_wrong_type() -> None:
    data = job("dpo")
    data["method"]["dpo"]["hyperparameters"]["beta"] = {"value": 0.1}
    data["method"]["dpo"]["hyperparameters"]["n_epochs"] = True
    with pytest.raises(ResultsError, match="2 problems") as exc:
        parse_job(data, "j.json", 1)
    assert [(p.path, p.message) for p in exc.value.problems] == [
        ("method.dpo.hyperparameters.beta", "must be a number or a string"),
        ("method.dpo.hyperparameters.n_epochs", "must be a number or a string"),
    ]


def test_a_job_object_of_another_type_is_a_problem() -> None:
    with pytest.raises(ResultsError, match=r"object: Input should be 'fine_tuning.job'"):
        parse_job(job(object="fine_tuning.job.checkpoint"), "j", 1)


# --- per-step rows ----------------------------------------------------------------------------

STEPS = [
    {"step": "1", "train_loss": "1.2", "valid_loss": "", "full_valid_loss": ""},
    {"step": "2", "train_loss": "1.0", "valid_loss": "0.9", "full_valid_loss": ""},
    {"step": "3", "train_loss": "0.8", "valid_loss": "", "full_valid_loss": "0.85"},
    {"step": "4", "train_loss": "0.7", "valid_loss": "0.95", "full_valid_loss": ""},
    {"step": "5", "train_loss": "0.9", "valid_loss": "", "full_valid_loss": ""},
]


@pytest.mark.parametrize(
    ("metric", "how", "expected"),
    [
        ("valid_loss", "last", 0.95),
        ("valid_loss", "min", 0.9),
        ("valid_loss", "max", 0.95),
        ("full_valid_loss", "last", 0.85),
        ("train_loss", "last", 0.9),
        ("train_loss", "min", 0.7),
        ("train_loss", "max", 1.2),
    ],
)
def test_reduce_steps_skips_empty_cells(metric: str, how: Any, expected: float) -> None:
    assert reduce_steps(STEPS, metric, how) == expected


def test_last_is_the_value_at_the_highest_step() -> None:
    rows = [{"step": "10", "m": "1"}, {"step": "2", "m": "2"}, {"step": "10", "m": "3"}]
    assert reduce_steps(rows, "m", "last") == 3.0
    assert reduce_steps(rows[:2], "m", "last") == 1.0


def test_reduce_steps_reads_scores_and_returns_none_without_values() -> None:
    rows = [{"step": "1", "scores.valid_reward_mean": "0.4"}, {"step": "2"}]
    assert reduce_steps(rows, "valid_reward_mean", "max") == 0.4
    assert reduce_steps(rows, "full_valid_loss", "last") is None
    assert reduce_steps([], "full_valid_loss", "min") is None


def test_reduce_steps_refuses_bad_values() -> None:
    rows = [{"step": "one", "m": "0.5"}, {"step": "2", "m": "inf"}, {"step": "3", "m": "x"}]
    with pytest.raises(ResultsError, match=r"<steps>: 3 problems") as exc:
        reduce_steps(rows, "m", "last")
    assert [p.render() for p in exc.value.problems] == [
        ":2: step: must be a whole number >= 0 (got 'one')",
        ":3: m: must be a finite number (a run that diverged is a failed row) (got 'inf')",
        ":4: m: must be a finite number (a run that diverged is a failed row) (got 'x')",
    ]


_cell = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


@given(st.lists(st.tuples(st.integers(0, 20), _cell), max_size=30))
def test_reduce_steps_agrees_with_plain_python(steps: list[tuple[int, float | None]]) -> None:
    rows = [{"step": str(s), "m": "" if v is None else repr(v)} for s, v in steps]
    present = [(s, v) for s, v in steps if v is not None]
    values = [v for _, v in present]
    assert reduce_steps(rows, "m", "min") == (min(values) if values else None)
    assert reduce_steps(rows, "m", "max") == (max(values) if values else None)
    top = max((s for s, _ in present), default=None)
    assert reduce_steps(rows, "m", "last") == next(
        (v for s, v in reversed(present) if s == top), None
    )


# --- cells and base64 -------------------------------------------------------------------------


def test_unwrap_base64() -> None:
    text = "step,train_loss\n1,0.5\n"
    encoded = base64.encodebytes(text.encode()).decode()  # wrapped at 76 characters
    assert unwrap_base64(encoded) == text
    assert unwrap_base64(text) == text
    other = base64.b64encode(b"trial\n1\n").decode()
    assert unwrap_base64(other) == other
    assert unwrap_base64("not base64 at all!") == "not base64 at all!"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), ("7", 7), ("7.0", 7), (7.0, 7), (0, 0), (-1, None), ("7.5", None), (True, None)],
)
def test_whole(value: object, expected: int | None) -> None:
    assert whole(value) == expected

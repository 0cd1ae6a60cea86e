"""The trials DataFrame (`ftsweep.study.frame`): documented columns, dtypes, which trials show."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ftsweep.study import import_jobs, read_results, tell, trials_frame
from ftsweep.study.frame import columns, trial_records

from .test_feedback import job_object, row, write
from .test_study import created, make_study, result, sweep_text

SUPERVISED_COLUMNS = [
    "number",
    "key",
    "state",
    "origin",
    "n_epochs",
    "batch_size",
    "batch_size_auto",
    "resolved_batch_size",
    "resolved_learning_rate_multiplier",
    "resolved_n_epochs",
    "job_id",
    "job_status",
    "fine_tuned_model",
    "full_valid_loss",
    "trained_tokens",
    "estimated_cost",
    "actual_cost",
    "error",
    "started",
    "completed",
]

REINFORCEMENT = """\
name: rft
method: reinforcement
model: o4-mini-2025-04-16
training_file: file-train
validation_file: file-valid
space:
  reasoning_effort: [low, high]
  compute_multiplier: {low: 0.5, high: 2, log: true}
objective:
  - {metric: valid_reward_mean}
  - {metric: trained_tokens}
grader:
  type: string_check
  name: exact
  input: "{{sample.output_text}}"
  reference: "{{item.answer}}"
  operation: eq
"""
REINFORCEMENT_COLUMNS = [
    "number",
    "key",
    "state",
    "origin",
    "reasoning_effort",
    "compute_multiplier",
    "resolved_batch_size",
    "resolved_compute_multiplier",
    "resolved_eval_interval",
    "resolved_eval_samples",
    "resolved_learning_rate_multiplier",
    "resolved_n_epochs",
    "resolved_reasoning_effort",
    "job_id",
    "job_status",
    "fine_tuned_model",
    "valid_reward_mean",
    "trained_tokens",
    "estimated_cost",
    "actual_cost",
    "error",
    "started",
    "completed",
]


def check_dtypes(frame: pd.DataFrame) -> None:
    assert frame["number"].dtype == "int64"
    assert frame["trained_tokens"].dtype == "Int64"
    assert frame["full_valid_loss"].dtype == "float64"
    assert frame["n_epochs"].dtype == frame["batch_size"].dtype == "Int64"
    assert frame["batch_size_auto"].dtype == "boolean"
    for name in ("resolved_batch_size", "resolved_n_epochs"):
        assert frame[name].dtype == "Int64", name
    assert frame["resolved_learning_rate_multiplier"].dtype == "float64"
    assert frame["estimated_cost"].dtype == "float64"
    assert frame["actual_cost"].dtype == "float64"
    for name in ("started", "completed"):
        assert isinstance(frame[name].dtype, pd.DatetimeTZDtype), name
        assert str(frame[name].dt.tz) == "UTC"


def test_supervised_columns(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    assert columns(study) == SUPERVISED_COLUMNS
    study.ask(2)
    frame = trials_frame(study)
    assert list(frame.columns) == SUPERVISED_COLUMNS
    assert len(frame) == 2
    check_dtypes(frame)


def test_reinforcement_columns(tmp_path: Path) -> None:
    study = created(make_study(tmp_path, REINFORCEMENT))
    assert list(trials_frame(study).columns) == REINFORCEMENT_COLUMNS


def test_a_sweep_without_trials_has_an_empty_frame_of_the_same_shape(tmp_path: Path) -> None:
    frame = trials_frame(created(make_study(tmp_path, sweep_text())))
    assert list(frame.columns) == SUPERVISED_COLUMNS
    assert len(frame) == 0
    check_dtypes(frame)


def test_rows_hold_requested_and_resolved_values(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(3)
    running = job_object("s-0001", id="ftjob-1", status="running")
    running["method"]["supervised"]["hyperparameters"] = {
        "n_epochs": 1,
        "batch_size": 12,
        "learning_rate_multiplier": 1.8,
    }
    tell(study, read_results(write(tmp_path / "job.json", json.dumps(running)), ()))
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5}, trained_tokens=4096)])
    frame = trials_frame(study)
    check_dtypes(frame)
    assert list(frame["number"]) == [0, 1, 2]
    assert list(frame["key"]) == ["s-0000", "s-0001", "s-0002"]
    assert list(frame["state"]) == ["complete", "running", "running"]
    assert list(frame["origin"]) == ["ask", "ask", "ask"]
    assert list(frame["n_epochs"]) == [1, 1, 2]
    assert list(frame["batch_size"].fillna(-1)) == [-1, 8, -1]
    assert list(frame["batch_size_auto"]) == [True, False, True]
    second = row(frame, "s-0001")
    assert (second["resolved_batch_size"], second["resolved_n_epochs"]) == (12, 1)
    assert (second["job_id"], second["job_status"]) == ("ftjob-1", "running")
    first = row(frame, "s-0000")
    assert (first["full_valid_loss"], first["trained_tokens"]) == (0.5, 4096)
    assert first["completed"] >= first["started"]
    assert frame["completed"].isna().tolist() == [False, True, True]


def test_discarded_and_superseded_trials_are_left_out(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with pytest.raises(RuntimeError), study.asking(2):
        raise RuntimeError("not written")
    study.ask(2)
    tell(study, [result(trial=2, values={"full_valid_loss": 0.5})])
    tell(study, [result(trial=2, values={"full_valid_loss": 0.4})], force=True)
    frame = trials_frame(study)
    assert list(frame["key"]) == ["s-0002", "s-0003"]
    assert list(frame["full_valid_loss"].fillna(-1)) == [0.4, -1]
    assert len(trial_records(study)) == 2


def test_records_match_the_frame(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(2)
    records = trial_records(study)
    assert [list(r) for r in records] == [SUPERVISED_COLUMNS, SUPERVISED_COLUMNS]
    assert [r["key"] for r in records] == ["s-0000", "s-0001"]


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a time zone 5:30 ahead of UTC (Optuna's trials hold naive local times)."""
    monkeypatch.setenv("TZ", "XST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("away_from_utc")
def test_timestamps_are_utc_whatever_the_local_time_zone(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    failed = job_object(
        None,
        id="ftjob-old",
        status="failed",
        finished_at=1754001800,
        hyperparameters={"n_epochs": 3, "batch_size": 8},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
    )
    path = write(tmp_path / "jobs.json", json.dumps([failed]))
    import_jobs(study, read_results(path, study.sweep.objectives))
    frame = trials_frame(study)
    assert frame["started"][0] == pd.Timestamp(1754000000, unit="s", tz="UTC")
    assert frame["completed"][0] == pd.Timestamp(1754001800, unit="s", tz="UTC")

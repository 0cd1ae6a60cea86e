"""Importing jobs run outside ftsweep as trials (`ftsweep.study.imports`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ftsweep.errors import ResultsError
from ftsweep.study import ImportReport, SweepStudy, import_jobs, read_results, trials_frame
from ftsweep.study.imports import plan_import
from ftsweep.study.records import Create, Finish, State

from .test_feedback import job_object, row, snapshot, write
from .test_study import MODEL, make_study, optuna_trials, sweep_text

SPACE = (
    "  n_epochs: [1, 2, 3]\n  batch_size: [auto, 4, 8]\n  learning_rate_multiplier: [1.8, 2.0]\n"
)


def job(
    job_id: str, *, status: str = "succeeded", model: str = MODEL, **hyperparameters: Any
) -> dict[str, Any]:
    """A supervised job run outside ftsweep (no ftsweep metadata) with these hyperparameters."""
    resolved = {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 1.8, **hyperparameters}
    fields: dict[str, Any] = {
        "id": job_id,
        "model": model,
        "status": status,
        "hyperparameters": resolved,
        "method": {"type": "supervised", "supervised": {"hyperparameters": resolved}},
        "metadata": {"team": "search"},
    }
    if status == "succeeded":
        fields.update(finished_at=1754003600, fine_tuned_model=f"ft:{job_id}", trained_tokens=9000)
    if status == "failed":
        fields.update(
            finished_at=1754001800,
            error={"code": "invalid_training_file", "message": "bad line 3", "param": None},
        )
    return job_object(None, **fields)


def jsonl(path: Path, *items: dict[str, Any]) -> Path:
    return write(path, "".join(json.dumps(item) + "\n" for item in items))


def do_import(study: SweepStudy, *paths: Path) -> ImportReport:
    results = [r for p in paths for r in read_results(p, study.sweep.objectives)]
    return import_jobs(study, results)


@pytest.fixture
def study(tmp_path: Path) -> SweepStudy:
    return make_study(tmp_path, sweep_text(space=SPACE))


def test_jobs_of_every_status_become_trials(study: SweepStudy, tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "jobs.jsonl",
        job("ftjob-ok", n_epochs=1),
        job("ftjob-failed", status="failed", n_epochs=2),
        job("ftjob-cancelled", status="cancelled", n_epochs=3),
        job("ftjob-running", status="running", batch_size=8),
        job("ftjob-queued", status="queued", learning_rate_multiplier=2.0),
    )
    report = do_import(study, path)
    assert (report.imported, report.existing, report.notes, report.told) == (5, 0, [], None)
    frame = trials_frame(study)
    assert list(frame["job_id"]) == [
        "ftjob-ok",
        "ftjob-failed",
        "ftjob-cancelled",
        "ftjob-running",
        "ftjob-queued",
    ]
    # A succeeded job carries no metric: its trial waits for one, like a running trial.
    assert list(frame["state"]) == ["running", "fail", "fail", "running", "running"]
    assert list(frame["job_status"]) == ["succeeded", "failed", "cancelled", "running", "queued"]
    assert list(frame["origin"]) == ["import"] * 5
    assert list(frame["key"]) == [f"s-{i:04d}" for i in range(5)]
    assert list(frame["n_epochs"]) == [1, 2, 3, 2, 2]
    assert list(frame["batch_size"]) == [4, 4, 4, 8, 4]
    assert list(frame["learning_rate_multiplier"]) == [1.8, 1.8, 1.8, 1.8, 2.0]
    assert list(frame["resolved_n_epochs"]) == [1, 2, 3, 2, 2]
    failed = row(frame, "s-0001")
    assert failed["error"] == "invalid_training_file: bad line 3"
    ok = row(frame, "s-0000")
    assert (ok["fine_tuned_model"], ok["trained_tokens"]) == ("ft:ftjob-ok", 9000)
    assert all(t.origin == "import" for t in study.trials())


def test_imported_times_are_the_jobs(study: SweepStudy, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-f", status="failed"), job("ftjob-ok"))
    do_import(study, path)
    frame = trials_frame(study)
    assert str(frame["started"][0]) == "2025-07-31 22:13:20+00:00"  # created_at 1754000000
    assert str(frame["completed"][0]) == "2025-07-31 22:43:20+00:00"  # finished_at 1754001800
    # A succeeded job without its metric is not finished as a trial yet.
    assert frame["completed"].isna().tolist() == [False, True]


def test_importing_twice_adds_nothing(study: SweepStudy, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-a"), job("ftjob-b", n_epochs=3))
    assert do_import(study, path).imported == 2
    before = snapshot(study)
    again = do_import(study, path)
    assert (again.imported, again.existing) == (0, 2)
    assert snapshot(study) == before


def test_the_same_job_twice_in_one_call_is_imported_once(study: SweepStudy, tmp_path: Path) -> None:
    report = do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-a"), job("ftjob-a")))
    assert (report.imported, report.existing) == (1, 1)


def test_a_value_outside_the_space_is_refused(study: SweepStudy, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-ok"), job("ftjob-x", n_epochs=7))
    with pytest.raises(ResultsError) as caught:
        do_import(study, path)
    assert str(caught.value) == (
        f"{path}: 1 problem, nothing was imported\n"
        f"{path}:2: job.ftjob-x: n_epochs 7 is outside the sweep's space (one of 1, 2, 3)"
    )
    assert optuna_trials(study) == []


def test_a_range_names_its_bounds(tmp_path: Path) -> None:
    space = "  n_epochs: {low: 1, high: 4}\n  learning_rate_multiplier: {low: 0.5, high: 2}\n"
    study = make_study(tmp_path, sweep_text(strategy="tpe", space=space))
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-x", learning_rate_multiplier=3.5))
    with pytest.raises(
        ResultsError,
        match=r"learning_rate_multiplier 3\.5 is outside the sweep's"
        r" space \(0\.5 to 2\)",
    ):
        do_import(study, path)


def test_an_auto_dimension_takes_an_unlisted_value_as_auto(
    study: SweepStudy, tmp_path: Path
) -> None:
    report = do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-a", batch_size=16)))
    assert report.notes == ["job ftjob-a: taken as auto: batch_size 16"]
    found = row(trials_frame(study), "s-0000")
    assert found["batch_size_auto"] and pd.isna(found["batch_size"])
    assert found["resolved_batch_size"] == 16


def test_an_auto_range_takes_a_value_outside_it_as_auto(tmp_path: Path) -> None:
    space = (
        "  n_epochs: {low: 1, high: 4, auto: true}\n"
        "  learning_rate_multiplier: {low: 0.5, high: 2}\n"
    )
    study = make_study(tmp_path, sweep_text(strategy="tpe", space=space))
    report = do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-a", n_epochs=9)))
    assert report.notes == ["job ftjob-a: taken as auto: n_epochs 9"]
    assert row(trials_frame(study), "s-0000")["n_epochs_auto"]


def test_a_job_of_another_method_is_refused(study: SweepStudy, tmp_path: Path) -> None:
    dpo = job("ftjob-dpo")
    dpo["method"] = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}
    with pytest.raises(ResultsError, match="job.ftjob-dpo: is a dpo job; sweep 's' is supervised"):
        do_import(study, jsonl(tmp_path / "jobs.jsonl", dpo))


def test_a_job_of_another_model_is_refused(study: SweepStudy, tmp_path: Path) -> None:
    other = job("ftjob-nano", model="gpt-4.1-nano-2025-04-14")
    with pytest.raises(ResultsError) as caught:
        do_import(study, jsonl(tmp_path / "jobs.jsonl", other))
    assert (
        f"job.ftjob-nano: fine-tuned 'gpt-4.1-nano-2025-04-14'; the sweep's model is '{MODEL}'"
        in str(caught.value)
    )


def test_a_model_dimension_takes_the_jobs_model(tmp_path: Path) -> None:
    space = f"  model: [{MODEL}, gpt-4.1-nano-2025-04-14]\n  n_epochs: [1, 2]\n"
    text = sweep_text(space=space).replace(f"model: {MODEL}\n", "", 1)
    study = make_study(tmp_path, text)
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-nano", model="gpt-4.1-nano-2025-04-14"))
    do_import(study, path)
    assert row(trials_frame(study), "s-0000")["model"] == "gpt-4.1-nano-2025-04-14"
    bad = jsonl(tmp_path / "bad.jsonl", job("ftjob-4o", model="gpt-4o-2024-08-06"))
    with pytest.raises(
        ResultsError, match="model 'gpt-4o-2024-08-06' is outside the sweep's space"
    ):
        do_import(study, bad)


def test_a_union_imports_into_the_sub_space_that_fits(tmp_path: Path) -> None:
    space = "  - {n_epochs: [1, 2], batch_size: [4, 8]}\n  - {n_epochs: [3, 4], batch_size: 32}\n"
    study = make_study(tmp_path, sweep_text(space=space))
    do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-big", n_epochs=4, batch_size=32)))
    found = row(trials_frame(study), "s-0000")
    assert (found["n_epochs"], found["batch_size"]) == (4, 32)
    bad = jsonl(tmp_path / "bad.jsonl", job("ftjob-mixed", n_epochs=4, batch_size=8))
    with pytest.raises(ResultsError, match="job.ftjob-mixed: fits no sub-space: "):
        do_import(study, bad)


def test_rows_in_the_same_call_are_told_by_job_id(study: SweepStudy, tmp_path: Path) -> None:
    jobs = jsonl(tmp_path / "jobs.jsonl", job("ftjob-a"), job("ftjob-b", n_epochs=3))
    metrics = write(
        tmp_path / "metrics.csv", "job_id,full_valid_loss\nftjob-a,0.42\nftjob-b,0.37\nftjob-z,1\n"
    )
    report = do_import(study, jobs, metrics)
    assert report.imported == 2
    assert report.told is not None
    assert report.told.finished == 2
    assert [r.job_id for r in report.told.unknown] == ["ftjob-z"]
    frame = trials_frame(study)
    assert list(frame["state"]) == ["complete", "complete"]
    assert list(frame["full_valid_loss"]) == [0.42, 0.37]


def test_a_refused_import_tells_nothing(study: SweepStudy, tmp_path: Path) -> None:
    jobs = jsonl(tmp_path / "jobs.jsonl", job("ftjob-a"), job("ftjob-x", n_epochs=9))
    metrics = write(tmp_path / "metrics.csv", "job_id,full_valid_loss\nftjob-a,0.42\n")
    with pytest.raises(ResultsError):
        do_import(study, jobs, metrics)
    assert optuna_trials(study) == []


def test_an_ftsweep_job_finds_its_own_trial(study: SweepStudy, tmp_path: Path) -> None:
    """A job that ftsweep asked for (its metadata names the trial) is that trial, not a new one."""
    (asked,) = study.ask(1)
    own = job_object(asked.key, id="ftjob-own", status="running")
    own["method"]["supervised"]["hyperparameters"] = dict(asked.params)
    report = do_import(study, jsonl(tmp_path / "jobs.jsonl", own))
    assert (report.imported, report.existing) == (0, 1)
    assert report.told is not None and report.told.updated == 1
    frame = trials_frame(study)
    assert list(frame["key"]) == [asked.key]
    assert row(frame, asked.key)["job_id"] == "ftjob-own"


def test_a_grid_skips_the_configurations_imported_before(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())  # n_epochs [1, 2, 3] x batch_size [auto, 8]
    do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-a", n_epochs=1, batch_size=8)))
    asked = study.ask(2)
    assert [a.params for a in asked] == [
        {"n_epochs": 1, "batch_size": "auto"},
        {"n_epochs": 2, "batch_size": "auto"},
    ]
    assert [a.key for a in asked] == ["s-0001", "s-0002"]


def test_importing_a_job_again_applies_its_new_status(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    running = jsonl(tmp_path / "running.jsonl", job("ftjob-a", status="running"))
    assert do_import(study, running).imported == 1
    failed = jsonl(tmp_path / "failed.jsonl", job("ftjob-a", status="failed"))
    report = do_import(study, failed)
    assert (report.imported, report.existing) == (0, 1)
    assert report.told is not None and (report.told.finished, report.told.failed) == (1, 1)
    row = trials_frame(study).iloc[0]
    assert (row["state"], row["job_status"]) == ("fail", "failed")
    assert row["error"] == "invalid_training_file: bad line 3"


def test_a_job_on_other_data_files_is_refused(study: SweepStudy, tmp_path: Path) -> None:
    other = job("ftjob-x", n_epochs=7) | {"training_file": "file-other", "validation_file": None}
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-ok"), other)
    with pytest.raises(ResultsError) as caught:
        do_import(study, path)
    assert str(caught.value) == (
        f"{path}: 3 problems, nothing was imported\n"
        f"{path}:2: job.ftjob-x: training_file 'file-other' is not the sweep's ('file-train'): "
        "another experiment; import --force to take it all the same\n"
        f"{path}:2: job.ftjob-x: validation_file none is not the sweep's ('file-valid'): "
        "another experiment; import --force to take it all the same\n"
        f"{path}:2: job.ftjob-x: n_epochs 7 is outside the sweep's space (one of 1, 2, 3)"
    )
    assert optuna_trials(study) == []


def test_a_sweep_without_a_validation_file_refuses_a_job_with_one(tmp_path: Path) -> None:
    text = sweep_text(space=SPACE).replace("validation_file: file-valid\n", "")
    study = make_study(tmp_path, text)
    with pytest.raises(
        ResultsError, match=r"job.ftjob-v: validation_file 'file-valid' is not the sweep's \(none\)"
    ):
        do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-v")))


def test_force_imports_a_job_on_other_data_files_with_a_note(
    study: SweepStudy, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "jobs.jsonl", job("ftjob-x") | {"training_file": "file-other"})
    report = import_jobs(study, read_results(path, study.sweep.objectives), force=True)
    assert report.imported == 1
    assert report.notes == [
        "job ftjob-x: training_file 'file-other' is not the sweep's ('file-train'): imported all "
        "the same (--force)"
    ]
    assert list(trials_frame(study)["job_id"]) == ["ftjob-x"]


def test_an_imported_trial_carries_its_configuration_and_job_as_flat_attributes(
    study: SweepStudy, tmp_path: Path
) -> None:
    do_import(study, jsonl(tmp_path / "jobs.jsonl", job("ftjob-a", status="running")))
    attrs = optuna_trials(study)[0].user_attrs
    config = {k: v for k, v in attrs.items() if k.startswith("config.")}
    assert config == {
        "config.n_epochs": 2,
        "config.batch_size": 4,
        "config.learning_rate_multiplier": 1.8,
    }
    assert (attrs["job.id"], attrs["job.status"]) == ("ftjob-a", "running")
    assert attrs["resolved.n_epochs"] == 2
    assert "ftsweep" not in attrs


def test_an_import_whose_rows_conflict_creates_no_trial(study: SweepStudy, tmp_path: Path) -> None:
    """The jobs and the rows are checked together before anything is written: a row that
    conflicts with the job it names leaves the study as it was, new jobs included."""
    jobs = jsonl(tmp_path / "jobs.jsonl", job("ftjob-a", status="failed"))
    metrics = write(tmp_path / "metrics.csv", "job_id,full_valid_loss\nftjob-a,0.42\n")
    with pytest.raises(ResultsError, match="s-0000: is already failed"):
        do_import(study, jobs, metrics)
    assert study.trials() == []
    assert do_import(study, jobs).imported == 1  # the jobs alone import


def test_an_import_is_planned_over_records_without_a_storage(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(space=SPACE))
    jobs = jsonl(tmp_path / "jobs.jsonl", job("ftjob-a"), job("ftjob-b", n_epochs=3))
    metrics = write(tmp_path / "metrics.csv", "job_id,full_valid_loss\nftjob-b,0.37\n")
    results = [r for p in (jobs, metrics) for r in read_results(p, study.sweep.objectives)]
    report, writes = plan_import(study.sweep, [], results, force=False)
    assert (report.imported, report.told and report.told.finished) == (2, 1)
    creates = [w for w in writes if isinstance(w, Create)]
    assert [(c.number, c.origin, c.job.id) for c in creates] == [
        (0, "import", "ftjob-a"),
        (1, "import", "ftjob-b"),
    ]
    assert [w for w in writes if isinstance(w, Finish)] == [
        Finish(1, State.COMPLETE, (0.37,), None)
    ]
    assert not study.location.exists()  # planning touched no storage

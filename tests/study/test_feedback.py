"""Telling results to a sweep's study (`ftsweep.study.feedback`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import ResultsError
from ftsweep.study import SweepStudy, read_results, tell, trials_frame

from .test_study import make_study, optuna_trials, result, sweep_text

MULTI = (
    "objective:\n"
    "  - {metric: full_valid_loss}\n"
    "  - {metric: trained_tokens}\n"
    "  - {metric: full_valid_mean_token_accuracy}\n"
)


def job_object(key: str | None, **fields: Any) -> dict[str, Any]:
    """A supervised job object as the service returns it; `fields` override."""
    data: dict[str, Any] = {
        "object": "fine_tuning.job",
        "id": "ftjob-1",
        "model": "gpt-4.1-mini-2025-04-14",
        "created_at": 1754000000,
        "finished_at": None,
        "fine_tuned_model": None,
        "status": "running",
        "training_file": "file-train",
        "validation_file": "file-valid",
        "hyperparameters": {"batch_size": 4, "learning_rate_multiplier": 1.8, "n_epochs": 1},
        "method": {
            "type": "supervised",
            "supervised": {
                "hyperparameters": {"batch_size": 4, "learning_rate_multiplier": 1.8, "n_epochs": 1}
            },
        },
        "trained_tokens": None,
        "error": None,
        "seed": 42,
        "metadata": {"ftsweep_sweep": "s", "ftsweep_trial": key} if key else None,
    }
    data.update(fields)
    return data


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def snapshot(study: SweepStudy) -> list[Any]:
    """Everything the storage holds about the study's trials."""
    return [
        (t.number, t.state, t.values, t.user_attrs, t.system_attrs, t.datetime_complete)
        for t in optuna_trials(study)
    ]


def journal_size(study: SweepStudy) -> int:
    assert study.location.path is not None
    return study.location.path.stat().st_size


@pytest.fixture
def study(tmp_path: Path) -> SweepStudy:
    """A grid sweep with its first three trials handed out (s-0000 to s-0002)."""
    made = make_study(tmp_path, sweep_text())
    made.ask(3)
    return made


def row(frame: Any, key: str) -> dict[str, Any]:
    (found,) = frame[frame["key"] == key].to_dict("records")
    return dict(found)


# --- finishing trials -----------------------------------------------------------------------


def test_complete_by_key_number_and_job_id(study: SweepStudy, tmp_path: Path) -> None:
    running = write(tmp_path / "job.json", json.dumps(job_object("s-0002", id="ftjob-2")))
    tell(study, read_results(running, study.sweep.objectives))
    results = [
        result(key="s-0000", values={"full_valid_loss": 0.5}, trained_tokens=1000),
        result(trial=1, values={"full_valid_loss": 0.25}),
        result(job_id="ftjob-2", values={"full_valid_loss": 0.75}),
    ]
    report = tell(study, results)
    assert (report.finished, report.updated, report.unchanged, report.superseded) == (3, 0, 0, 0)
    assert report.unknown == [] and report.notes == []
    frame = trials_frame(study)
    assert list(frame["state"]) == ["complete"] * 3
    assert list(frame["full_valid_loss"]) == [0.5, 0.25, 0.75]
    assert frame["trained_tokens"][0] == 1000
    assert frame["trained_tokens"].isna().tolist() == [False, True, True]
    assert [t.values for t in optuna_trials(study)] == [[0.5], [0.25], [0.75]]


def test_failed_and_cancelled_become_failed_trials_with_their_error(study: SweepStudy) -> None:
    report = tell(
        study,
        [
            result(trial=0, status="failed", error="invalid_training_file: line 3"),
            result(trial=1, status="cancelled"),
        ],
    )
    assert report.finished == 2
    frame = trials_frame(study)
    assert list(frame["state"]) == ["fail", "fail", "running"]
    assert row(frame, "s-0000")["error"] == "invalid_training_file: line 3"
    assert row(frame, "s-0000")["job_status"] == "failed"
    assert row(frame, "s-0001")["job_status"] == "cancelled"


def test_a_failed_job_object_keeps_its_error(study: SweepStudy, tmp_path: Path) -> None:
    error = {"code": "exceeded_quota", "message": "Quota exceeded", "param": None}
    failed = job_object("s-0001", status="failed", error=error, finished_at=1754003600)
    path = write(tmp_path / "jobs.jsonl", json.dumps(failed) + "\n")
    assert tell(study, read_results(path, study.sweep.objectives)).finished == 1
    found = row(trials_frame(study), "s-0001")
    assert (found["state"], found["error"]) == ("fail", "exceeded_quota: Quota exceeded")
    assert found["job_id"] == "ftjob-1"


def test_telling_the_same_thing_twice_changes_nothing(study: SweepStudy, tmp_path: Path) -> None:
    path = write(
        tmp_path / "results.csv",
        "ftsweep_trial,status,full_valid_loss,trained_tokens,error\n"
        "s-0000,succeeded,0.41,1843200,\n"
        "s-0001,failed,,,invalid_training_file: bad line\n",
    )
    first = tell(study, read_results(path, study.sweep.objectives))
    assert (first.finished, first.unchanged) == (2, 0)
    before, size = snapshot(study), journal_size(study)
    second = tell(study, read_results(path, study.sweep.objectives))
    assert (second.finished, second.updated, second.unchanged, second.superseded) == (0, 0, 2, 0)
    assert snapshot(study) == before
    assert journal_size(study) == size


def test_a_conflicting_result_refuses_the_whole_batch(study: SweepStudy) -> None:
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    before, size = snapshot(study), journal_size(study)
    batch = [
        result(trial=1, row=2, values={"full_valid_loss": 0.3}),
        result(key="s-0000", row=3, values={"full_valid_loss": 0.6}),
    ]
    with pytest.raises(ResultsError) as caught:
        tell(study, batch)
    assert str(caught.value) == (
        "results.csv: 1 problem, nothing was told\n"
        "results.csv:3: s-0000: is already complete with full_valid_loss=0.5; tell --force to "
        "replace what the study holds"
    )
    assert snapshot(study) == before and journal_size(study) == size
    assert row(trials_frame(study), "s-0001")["state"] == "running"


def test_a_failed_trial_told_a_success_is_a_conflict(study: SweepStudy) -> None:
    tell(study, [result(trial=0, status="failed", error="boom")])
    with pytest.raises(ResultsError, match=r"s-0000: is already failed; tell --force"):
        tell(study, [result(trial=0, values={"full_valid_loss": 0.1})])


def test_a_trial_belongs_to_one_job(study: SweepStudy) -> None:
    tell(study, [result(trial=0, job_id="ftjob-a", status=None)])
    with pytest.raises(ResultsError, match="s-0000: belongs to job ftjob-a, not ftjob-b; tell"):
        tell(study, [result(trial=0, job_id="ftjob-b", values={"full_valid_loss": 0.1})])


def test_force_adds_a_replacement_that_supersedes_the_old_trial(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 3\n"))
    study.ask(2)
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5}, job_id="ftjob-0")])
    report = tell(study, [result(key="s-0000", values={"full_valid_loss": 0.6})], force=True)
    assert (report.superseded, report.finished) == (1, 0)
    frame = trials_frame(study)
    assert list(frame["key"]) == ["s-0000", "s-0001"]
    replaced = row(frame, "s-0000")
    assert (replaced["full_valid_loss"], replaced["state"]) == (0.6, "complete")
    assert replaced["origin"] == "ask (replaced)"
    assert replaced["job_id"] == "ftjob-0"
    trials = study.trials()
    assert trials[-1].supersedes == 0
    assert trials[-1].params == trials[0].params
    assert optuna_trials(study)[-1].params == optuna_trials(study)[0].params
    # Every name of the trial now finds the replacement: telling its value again changes nothing.
    for again in (
        result(trial=0, values={"full_valid_loss": 0.6}),
        result(key="s-0000", values={"full_valid_loss": 0.6}),
        result(job_id="ftjob-0", values={"full_valid_loss": 0.6}),
    ):
        assert tell(study, [again]).unchanged == 1
    with pytest.raises(ResultsError, match="s-0000: is already complete with full_valid_loss=0.6"):
        tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    # The replacement does not count toward max_trials.
    assert len(study.ask(5)) == 1


def test_force_on_a_running_trial_just_finishes_it(study: SweepStudy) -> None:
    report = tell(study, [result(trial=2, values={"full_valid_loss": 0.2})], force=True)
    assert (report.finished, report.superseded) == (1, 0)
    assert len(optuna_trials(study)) == 3


def test_rows_naming_no_trial_are_reported(study: SweepStudy) -> None:
    unknown = [
        result(trial=99, values={"full_valid_loss": 0.1}),
        result(key="other-0001", values={"full_valid_loss": 0.1}),
        result(job_id="ftjob-nope", values={"full_valid_loss": 0.1}),
    ]
    report = tell(study, [*unknown, result(trial=0, values={"full_valid_loss": 0.4})])
    assert report.unknown == unknown
    assert report.finished == 1


def test_a_discarded_trial_is_no_trial(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with pytest.raises(RuntimeError), study.asking(1):
        raise RuntimeError("not written")
    bad = result(trial=0, values={"full_valid_loss": 0.1})
    with pytest.raises(ResultsError, match="no row names a trial of sweep 's'"):
        tell(study, [bad])


def test_a_running_job_updates_attrs_then_a_step_file_completes_it(
    study: SweepStudy, tmp_path: Path
) -> None:
    running = write(tmp_path / "job.json", json.dumps(job_object("s-0000")))
    report = tell(study, read_results(running, study.sweep.objectives))
    assert (report.updated, report.finished) == (1, 0)
    found = row(trials_frame(study), "s-0000")
    assert found["state"] == found["job_status"] == "running"
    assert found["job_id"] == "ftjob-1"
    assert found["resolved_learning_rate_multiplier"] == 1.8
    assert tell(study, read_results(running, study.sweep.objectives)).unchanged == 1

    steps = write(
        tmp_path / "step_metrics.csv",
        "step,train_loss,valid_loss,full_valid_loss\n1,0.9,0.95,\n2,0.7,0.8,0.85\n3,0.5,0.6,0.65\n",
    )
    report = tell(study, read_results(steps, study.sweep.objectives, trial="s-0000"))
    assert report.finished == 1
    found = row(trials_frame(study), "s-0000")
    assert (found["state"], found["full_valid_loss"]) == ("complete", 0.65)
    assert found["job_id"] == "ftjob-1"


def test_a_succeeded_job_without_metrics_stays_running(study: SweepStudy, tmp_path: Path) -> None:
    done = job_object("s-0001", status="succeeded", trained_tokens=5000, fine_tuned_model="ft:x")
    path = write(tmp_path / "job.json", json.dumps(done))
    assert tell(study, read_results(path, study.sweep.objectives)).updated == 1
    found = row(trials_frame(study), "s-0001")
    assert (found["state"], found["job_status"]) == ("running", "succeeded")
    assert (found["trained_tokens"], found["fine_tuned_model"]) == (5000, "ft:x")


def test_multi_objective_values(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra=MULTI))
    study.ask(2)
    path = write(
        tmp_path / "results.csv",
        "trial,full_valid_loss,trained_tokens,full_valid_mean_token_accuracy\n"
        "0,0.5,1200,0.8\n"
        "1,0.4,2400,0.7\n",
    )
    assert tell(study, read_results(path, study.sweep.objectives)).finished == 2
    assert [t.values for t in optuna_trials(study)] == [[0.5, 1200.0, 0.8], [0.4, 2400.0, 0.7]]
    frame = trials_frame(study)
    assert list(frame["trained_tokens"]) == [1200, 2400]
    assert list(frame["full_valid_mean_token_accuracy"]) == [0.8, 0.7]


def test_trained_tokens_objective_comes_from_the_trained_tokens_field(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra=MULTI))
    study.ask(1)
    told = result(
        trial=0,
        values={"full_valid_loss": 0.5, "full_valid_mean_token_accuracy": 0.9},
        trained_tokens=777,
    )
    assert tell(study, [told]).finished == 1
    assert optuna_trials(study)[0].values == [0.5, 777.0, 0.9]


def test_a_row_missing_an_objective_does_not_finish_the_trial(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra=MULTI))
    study.ask(1)
    partial = result(trial=0, values={"full_valid_loss": 0.5}, job_id="ftjob-9")
    report = tell(study, [partial])
    assert (report.finished, report.updated) == (0, 1)
    assert optuna_trials(study)[0].state.name == "RUNNING"


def test_new_attrs_for_a_finished_trial_are_noted(study: SweepStudy, tmp_path: Path) -> None:
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    done = job_object("s-0000", status="succeeded", fine_tuned_model="ft:late")
    path = write(tmp_path / "job.json", json.dumps(done))
    report = tell(study, read_results(path, study.sweep.objectives))
    assert report.unchanged == 1
    assert report.notes == [
        "s-0000 had already finished: created_at, fine_tuned_model, job_id, resolved not recorded"
    ]


@pytest.mark.parametrize("jobs_first", [True, False])
def test_rows_by_job_id_find_a_job_told_in_the_same_batch(
    study: SweepStudy, tmp_path: Path, jobs_first: bool
) -> None:
    job = write(
        tmp_path / "job.json", json.dumps(job_object("s-0000", id="ftjob-7", status="succeeded"))
    )
    metrics = write(tmp_path / "metrics.csv", "job_id,full_valid_loss\nftjob-7,0.3\n")
    files = [job, metrics] if jobs_first else [metrics, job]
    results = [r for f in files for r in read_results(f, study.sweep.objectives)]
    report = tell(study, results)
    assert (report.finished, report.unknown) == (1, [])
    found = row(trials_frame(study), "s-0000")
    assert (found["state"], found["job_id"], found["full_valid_loss"]) == (
        "complete",
        "ftjob-7",
        0.3,
    )


def test_a_second_replacement_supersedes_the_first(study: SweepStudy) -> None:
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    tell(study, [result(trial=0, values={"full_valid_loss": 0.4})], force=True)
    tell(study, [result(key="s-0000", values={"full_valid_loss": 0.3})], force=True)
    frame = trials_frame(study)
    assert list(frame["key"]) == ["s-0000", "s-0001", "s-0002"]
    assert row(frame, "s-0000")["full_valid_loss"] == 0.3
    assert [t.supersedes for t in study.trials()] == [None] * 3 + [0, 0]


def test_a_long_error_is_stored_cut(study: SweepStudy, tmp_path: Path) -> None:
    path = write(tmp_path / "results.csv", f"trial,status,error\n0,failed,{'e' * 100_000}\n")
    assert tell(study, read_results(path, study.sweep.objectives)).finished == 1
    stored = optuna_trials(study)[0].user_attrs["job.error"]
    assert stored == "e" * 2000 + " … (98,000 characters cut)"


def test_a_job_the_study_ties_to_another_trial_is_refused(study: SweepStudy) -> None:
    tell(study, [result(trial=0, job_id="ftjob-a", status=None)])
    before = snapshot(study)
    with pytest.raises(ResultsError) as caught:
        tell(study, [result(key="s-0001", row=4, job_id="ftjob-a", values={"full_valid_loss": 1})])
    assert str(caught.value) == (
        "results.csv: 1 problem, nothing was told\n"
        "results.csv:4: job_id: ftjob-a (the job of s-0000) and ftsweep_trial s-0001 name "
        "different trials"
    )
    with pytest.raises(ResultsError, match=r"and trial 2 name different trials"):
        tell(study, [result(trial=2, job_id="ftjob-a", status=None)], force=True)
    assert snapshot(study) == before


def test_a_job_the_batch_ties_to_another_trial_is_refused(study: SweepStudy) -> None:
    batch = [
        result(trial=0, row=2, job_id="ftjob-a", status=None),
        result(trial=1, row=3, job_id="ftjob-a", status=None),
    ]
    with pytest.raises(ResultsError) as caught:
        tell(study, batch)
    assert [p.render() for p in caught.value.problems] == [
        ":3: job_id: ftjob-a (the job of s-0000, as results.csv:2 says) and trial 1 name "
        "different trials"
    ]


def test_two_rows_telling_a_trial_different_results_name_each_other(
    study: SweepStudy, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "results.csv",
        "trial,status,full_valid_loss\n0,,0.5\n1,,0.3\n0,,0.5\n0,,0.6\n1,failed,\n",
    )
    before = snapshot(study)
    for force in (False, True):  # no side of the batch is what the study holds: force picks none
        with pytest.raises(ResultsError) as caught:
            tell(study, read_results(path, study.sweep.objectives), force=force)
        assert str(caught.value) == (
            f"{path}: 2 problems, nothing was told\n"
            f"{path}:5: s-0000: told two results: complete with full_valid_loss=0.5 at {path}:2, "
            f"complete with full_valid_loss=0.6 at {path}:5; keep the right one\n"
            f"{path}:6: s-0001: told two results: complete with full_valid_loss=0.3 at {path}:3, "
            f"failed at {path}:6; keep the right one"
        )
    assert snapshot(study) == before


def test_two_rows_telling_a_trial_different_jobs_name_each_other(study: SweepStudy) -> None:
    batch = [
        result(trial=0, row=2, job_id="ftjob-a", status=None),
        result(source="more.csv", trial=0, row=7, job_id="ftjob-b", status=None),
    ]
    with pytest.raises(ResultsError) as caught:
        tell(study, batch, force=True)
    assert str(caught.value) == (
        "more.csv: 1 problem, nothing was told\n"
        "more.csv:7: s-0000: told two jobs: ftjob-a at results.csv:2, ftjob-b at more.csv:7; a "
        "trial has one job"
    )


def test_each_problem_of_a_batch_is_under_its_own_file(study: SweepStudy) -> None:
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    batch = [
        result(source="a.csv", trial=0, row=2, values={"full_valid_loss": 0.6}),
        result(source="b.csv", trial=1, row=3, values={"full_valid_loss": 0.6}),
        result(source="b.csv", trial=1, row=4, values={"full_valid_loss": 0.7}),
    ]
    with pytest.raises(ResultsError) as caught:
        tell(study, batch)
    assert str(caught.value) == (
        "a.csv: 1 problem, nothing was told\n"
        "a.csv:2: s-0000: is already complete with full_valid_loss=0.5; tell --force to replace "
        "what the study holds\n"
        "b.csv: 1 problem, nothing was told\n"
        "b.csv:4: s-0001: told two results: complete with full_valid_loss=0.6 at b.csv:3, "
        "complete with full_valid_loss=0.7 at b.csv:4; keep the right one"
    )


def test_a_batch_naming_no_trial_of_the_sweep_is_refused(study: SweepStudy) -> None:
    before, size = snapshot(study), journal_size(study)
    unknown = [
        result(key="other-0000", values={"full_valid_loss": 0.1}),
        result(source="more.csv", trial=9, row=5, status="failed"),
        result(job_id="ftjob-nope", row=3, status=None),
    ]
    with pytest.raises(ResultsError) as caught:
        tell(study, unknown)
    assert str(caught.value) == (
        "nothing was told: no row names a trial of sweep 's'\n"
        "results.csv:2: names no trial of sweep 's' (key other-0000)\n"
        "more.csv:5: names no trial of sweep 's' (trial 9)\n"
        "results.csv:3: names no trial of sweep 's' (job_id ftjob-nope)"
    )
    assert [p.render() for p in caught.value.problems] == [
        ":2: ftsweep_trial: names no trial of sweep 's' (got 'other-0000')",
        ":5: trial: names no trial of sweep 's' (got 9)",
        ":3: job_id: names no trial of sweep 's' (got 'ftjob-nope')",
    ]
    assert snapshot(study) == before and journal_size(study) == size


def journal_records(study: SweepStudy) -> list[dict[str, Any]]:
    assert study.location.path is not None
    return [json.loads(line) for line in study.location.path.read_text().splitlines()]


def test_a_tell_writes_the_job_as_flat_scalar_attributes(study: SweepStudy, tmp_path: Path) -> None:
    done = job_object(
        "s-0001",
        id="ftjob-1",
        status="succeeded",
        trained_tokens=4096,
        fine_tuned_model="ft:gpt-4.1-mini:org::abc",
    )
    done["method"]["supervised"]["hyperparameters"] = {"n_epochs": 1, "batch_size": 12}
    path = write(tmp_path / "job.json", json.dumps(done))
    tell(study, [*read_results(path, ()), result(trial=1, values={"full_valid_loss": 0.5})])
    attrs = optuna_trials(study)[1].user_attrs
    assert {k: v for k, v in attrs.items() if not k.startswith("config.")} == {
        "job.id": "ftjob-1",
        "job.status": "succeeded",
        "job.trained_tokens": 4096,
        "job.fine_tuned_model": "ft:gpt-4.1-mini:org::abc",
        "job.created_at": 1_754_000_000,  # the job object's: when the service made the job
        "resolved.n_epochs": 1,
        "resolved.batch_size": 12,
        "resolved.learning_rate_multiplier": 1.8,  # the top-level fallback of supervised jobs
    }


def test_a_later_tell_writes_only_what_changed(study: SweepStudy) -> None:
    tell(study, [result(trial=0, job_id="ftjob-a", status="running", trained_tokens=10)])
    before = len(journal_records(study))
    tell(study, [result(trial=0, job_id="ftjob-a", status="succeeded", trained_tokens=10)])
    written = journal_records(study)[before:]
    records = [r for r in written if r.get("worker_id") != "ftsweep:append"]  # not the frame
    assert [r.get("user_attr") for r in records] == [{"job.status": "succeeded"}]


def test_a_tell_gives_a_trial_without_them_its_configuration_attributes(
    study: SweepStudy,
) -> None:
    tell(study, [result(trial=2, job_id="ftjob-c", status="running")])
    attrs = optuna_trials(study)[2].user_attrs
    assert {k: v for k, v in attrs.items() if k.startswith("config.")} == {
        "config.n_epochs": 2,
        "config.batch_size": "auto",
    }


def legacy(study: SweepStudy, number: int, job: dict[str, Any]) -> None:
    """Give a trial its job as studies written before the flat attributes held it."""
    trial = optuna_trials(study)[number]
    study.store.storage.set_trial_user_attr(trial._trial_id, "ftsweep", job)


def test_a_study_written_before_the_flat_attributes_still_works(study: SweepStudy) -> None:
    legacy(study, 0, {"job_id": "ftjob-old", "job_status": "running", "resolved": {"n_epochs": 1}})
    with pytest.raises(ResultsError, match="belongs to job ftjob-old, not ftjob-new"):
        tell(study, [result(trial=0, job_id="ftjob-new")])
    tell(study, [result(job_id="ftjob-old", values={"full_valid_loss": 0.5}, trained_tokens=7)])
    found = row(trials_frame(study), "s-0000")
    assert (found["job_id"], found["job_status"], found["trained_tokens"]) == (
        "ftjob-old",
        "succeeded",
        7,
    )
    assert (found["resolved_n_epochs"], found["full_valid_loss"]) == (1, 0.5)
    attrs = optuna_trials(study)[0].user_attrs
    assert (attrs["job.id"], attrs["job.status"], attrs["resolved.n_epochs"]) == (
        "ftjob-old",
        "succeeded",
        1,
    )


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_a_trial_completes_when_its_job_finished(tmp_path: Path, storage: str) -> None:
    """A trial's completion time was the tell's; it is the job's `finished_at` when the service
    gave one (and the tell's when that is before the trial started: clocks that disagree)."""
    import time
    from datetime import UTC, datetime

    url = None if storage == "journal" else f"sqlite:///{tmp_path / 'studies.db'}"
    study = make_study(tmp_path, sweep_text(), url)
    study.ask(2)
    finished = int(time.time()) + 3600  # an hour from now: after the trials started
    jobs = [
        job_object("s-0000", id="ftjob-a", status="succeeded", finished_at=finished),
        job_object("s-0001", id="ftjob-b", status="succeeded", finished_at=1_000_000_000),
    ]
    path = write(tmp_path / "jobs.jsonl", "".join(json.dumps(j) + "\n" for j in jobs))
    rows = write(tmp_path / "r.csv", "trial,full_valid_loss\n0,0.5\n1,0.6\n")
    objectives = study.sweep.objectives
    tell(study, read_results(path, objectives) + read_results(rows, objectives))
    first, second = (t.datetime_complete for t in optuna_trials(study))
    assert first is not None and second is not None
    assert first.astimezone(UTC) == datetime.fromtimestamp(finished, tz=UTC)
    assert abs(second.astimezone(UTC) - datetime.now(UTC)).total_seconds() < 600


def test_a_pruned_trials_job_told_cancelled_again_is_no_conflict(tmp_path: Path) -> None:
    """Pruning cancelled the job: a jobs.list page imported or told again says just that."""
    from ftsweep.study.records import Finish, MarkPruned, Pruned, RecordJob, State
    from ftsweep.study.records import JobRecord as Job

    study = make_study(tmp_path, sweep_text(extra="prune: {}\n"))
    study.ask(1)
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply(
            [
                RecordJob(0, Job(id="ftjob-0", status="cancelled")),
                MarkPruned(0, Pruned(step=4, progress=32, value=2.0)),
                Finish(0, State.PRUNED),
            ]
        )
    report = tell(study, [result(trial=0, job_id="ftjob-0", status="cancelled")])
    assert (report.finished, report.unchanged) == (0, 1)
    (trial,) = study.trials()
    assert trial.state == State.PRUNED and trial.pruned is not None
    with pytest.raises(ResultsError, match=r"s-0000: is already pruned; tell --force"):
        tell(study, [result(trial=0, job_id="ftjob-0", status="failed")])

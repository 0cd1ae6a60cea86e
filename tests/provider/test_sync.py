"""`sync`, `cancel` and `run` against the stand-in: results told once, on every dialect."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ftsweep.errors import ServiceError
from ftsweep.provider import cancel, run, submit, sync
from ftsweep.study import SweepStudy
from ftsweep.study.records import State
from ftsweep.testing import JobError, JobSpec, StandIn
from tests.provider.conftest import (
    FAST,
    PHASE,
    backend_of,
    jobs_per_trial,
    open_study,
    point_at_azure,
    point_at_openai,
    write_sweep,
)


def finish() -> None:
    time.sleep(6 * PHASE)  # every phase of a job made now is over


def test_sync_tells_each_finished_job_once_with_its_reduced_metric(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        backend = backend_of(study)
        submit(study, backend, count=3, retry=FAST)
        finish()
        first = sync(study, backend)
        trials = study.trials()
        again = sync(study, backend)
    assert first.told.finished == 3 and not first.running
    assert all(t.state == State.COMPLETE and t.values for t in trials)
    assert all(t.job.status == "succeeded" and t.job.trained_tokens for t in trials)
    assert all(t.job.fine_tuned_model and t.job.resolved for t in trials)
    # The objective is the last full_valid_loss of the job's metric events.
    (job,) = [j for j in env.jobs if j.id == trials[0].job.id]
    assert trials[0].values == (job.rows[-1]["full_valid_loss"],)
    # Syncing again changes nothing and reads nothing but the list: nothing is in flight.
    assert again.told.finished == 0 and again.told.updated == 0


def test_sync_pages_through_the_list_instead_of_retrieving_job_by_job(
    env: StandIn, sweep_file: Path
):
    with open_study(sweep_file) as study:
        backend = backend_of(study)
        submit(study, backend, count=5, retry=FAST)
        before = env.counts()
        sync(study, backend)  # all still running
    counts = env.counts() - before
    assert counts == {"jobs.list": 1}


def test_failed_jobs_fail_their_trials_with_the_jobs_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    def fail_all(spec: JobSpec) -> JobError | None:
        return JobError("invalid_training_file", "the training file has too few examples")

    with StandIn(phase_seconds=PHASE, fail_when=fail_all) as failing:
        point_at_openai(failing, monkeypatch)
        path = write_sweep(tmp_path)
        with open_study(path) as study:
            backend = backend_of(study)
            submit(study, backend, count=2, retry=FAST)
            finish()
            report = sync(study, backend)
            trials = study.trials()
    assert report.told.failed == 2
    assert all(t.state == State.FAIL for t in trials)
    assert all("too few examples" in (t.job.error or "") for t in trials)


def test_cancel_then_sync_records_the_trials_as_cancelled(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        backend = backend_of(study)
        submit(study, backend, count=3, retry=FAST)
        keys = [t.key for t in study.trials()]
        report = cancel(study, backend, [keys[0]])
        sync(study, backend)
        trials = {t.key: t for t in study.trials()}
    assert [k for k, _, _ in report.cancelled] == [keys[0]]
    assert trials[keys[0]].state == State.FAIL and trials[keys[0]].job.status == "cancelled"
    assert trials[keys[1]].state == State.RUNNING
    assert env.counts()["jobs.cancel"] == 1


def test_cancel_of_a_key_of_another_sweep_is_an_error(env: StandIn, sweep_file: Path):
    from ftsweep.errors import StudyError

    with open_study(sweep_file) as study:
        submit(study, backend_of(study), count=1, retry=FAST)
        with pytest.raises(StudyError, match="no trial key"):
            cancel(study, backend_of(study), ["other-0001"])


def test_run_keeps_k_jobs_in_flight_until_max_trials(env: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, max_trials=7)
    seen: list[int] = []
    with open_study(path) as study:
        report = run(
            study, backend_of(study), parallel=3, interval=PHASE, retry=FAST,
            on_sync=lambda r: seen.append(r.running),
        )
        trials = study.trials()
    assert report.submitted == 7 and "max_trials" in report.ended
    assert len(trials) == 7 and all(t.state.finished for t in trials)
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}
    assert max(seen) <= 3


def test_run_stops_when_the_service_refuses_every_job(env: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, model="no-such-model", max_trials=50)
    with open_study(path) as study, pytest.raises(ServiceError, match="refused every job"):
        run(study, backend_of(study), parallel=2, interval=PHASE, retry=FAST)


@pytest.mark.parametrize("dialect", ["azure", "azure-dated"])
def test_the_loop_on_azure(
    service: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialect: str
):
    point_at_azure(service, monkeypatch, dated=dialect == "azure-dated")
    path = write_sweep(tmp_path, max_trials=3, extra="  provider: azure\n")
    with open_study(path) as study:
        backend = backend_of(study)
        assert backend.dialect == dialect
        report = run(study, backend, parallel=2, interval=PHASE, retry=FAST)
        trials = study.trials()
    assert report.submitted == 3
    assert all(t.state == State.COMPLETE and t.values for t in trials)
    assert all(count == 1 for count in jobs_per_trial(service).values())
    assert len(service.jobs) == 3


def test_azure_dated_finds_a_lost_create_by_its_suffix(
    service: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from ftsweep.testing import Fault

    point_at_azure(service, monkeypatch, dated=True)
    path = write_sweep(tmp_path, extra="  provider: azure\n")
    service.inject(Fault.drop_after_create(nth=1))
    with open_study(path) as study:
        report = submit(study, backend_of(study), count=2, parallel=1, retry=FAST)
    assert len(report.found) == 1 and len(report.created) == 1
    assert len(service.jobs) == 2


def test_azure_dated_needs_the_trial_in_the_suffix(
    service: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    point_at_azure(service, monkeypatch, dated=True)
    path = write_sweep(tmp_path, extra="  provider: azure\n")
    path.write_text(path.read_text().replace('suffix: "t-{trial}"', 'suffix: "same"'))
    with open_study(path) as study, pytest.raises(ServiceError, match=r"put \{trial\} in"):
        submit(study, backend_of(study), count=1, retry=FAST)
    assert not service.jobs


def _claimed_by_a_dead_process(study: SweepStudy, number: int) -> None:
    import socket

    from ftsweep.study.records import JobRecord, RecordJob

    dead = JobRecord(submitter=f"{socket.gethostname()}:999999999", submitted_at=int(time.time()))
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply([RecordJob(number, dead)])


def test_sync_does_not_wait_for_a_trial_whose_submit_died_and_run_resubmits_it(
    env: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path, max_trials=2)
    with open_study(path) as study:
        (asked,) = study.ask(1)
        _claimed_by_a_dead_process(study, asked.number)
        report = sync(study, backend_of(study))
        assert report.running == 0 and "submit was interrupted" in report.notes[0]
        finished = run(study, backend_of(study), parallel=2, interval=PHASE, retry=FAST)
        trials = study.trials()
    assert finished.submitted == 2 and all(t.values for t in trials)
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}


def test_submit_leaves_alone_a_batch_that_ask_is_still_writing(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        with study.asking(2, output=sweep_file.parent / "batch.jsonl"):
            report = submit(study, backend_of(study), retry=FAST)
            assert report.submitted == 0 and not env.jobs
        report = submit(study, backend_of(study), retry=FAST)  # delivered now
    assert report.submitted == 2


def test_azures_created_and_pending_statuses_are_not_finished(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    with StandIn(phase_seconds=5.0) as slow:  # the jobs stay in their first phases
        point_at_azure(slow, monkeypatch, dated=True)
        path = write_sweep(tmp_path, extra="  provider: azure\n")
        with open_study(path) as study:
            backend = backend_of(study)
            submit(study, backend, count=2, retry=FAST)
            report = sync(study, backend)
            trials = study.trials()
    assert {job.status for job in report.jobs} <= {"created", "pending"}
    assert report.running == 2 and report.told.finished == 0
    assert all(t.state == State.RUNNING and t.job.status in ("created", "pending") for t in trials)


def test_extra_body_reaches_every_job_body(
    service: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    point_at_azure(service, monkeypatch, dated=False)
    extra = "  provider: azure\n  extra_body: {trainingType: Standard}\n"
    with open_study(write_sweep(tmp_path / "azure", extra=extra)) as study:
        assert submit(study, backend_of(study), count=1, retry=FAST).created
    # OpenAI takes no trainingType: its refusal shows that the field was sent.
    point_at_openai(service, monkeypatch)
    openai_extra = "  extra_body: {trainingType: Standard}\n"
    with open_study(write_sweep(tmp_path / "openai", extra=openai_extra)) as study:
        report = submit(study, backend_of(study), count=1, retry=FAST)
    assert not report.created and "trainingType" in report.refused[0][1]


def test_an_unknown_file_id_fails_each_trial_with_the_services_message(
    env: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path)
    path.write_text(path.read_text().replace("data/train.jsonl", "file-nosuchfile"))
    with open_study(path) as study:
        report = submit(study, backend_of(study), count=2, retry=FAST)
        trials = study.trials()
    assert len(report.refused) == 2 and not env.jobs
    assert all("file-nosuchfile" in why for _, why in report.refused)
    assert all(t.state == State.FAIL and "file-nosuchfile" in (t.job.error or "") for t in trials)


def test_a_suffix_azure_may_refuse_is_noted(
    service: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    point_at_azure(service, monkeypatch, dated=False)
    path = write_sweep(tmp_path, extra="  provider: azure\n")
    path.write_text(path.read_text().replace('"t-{trial}"', '"a-longer-suffix-{trial}"'))
    with open_study(path) as study:
        report = submit(study, backend_of(study), count=1, retry=FAST)
    assert "Azure documents at most 18" in report.notes[0]


@pytest.mark.parametrize("azure", [False, True])
def test_a_result_file_metric_is_read_from_the_result_file_base64_or_plain(
    service: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, azure: bool
):
    if azure:
        point_at_azure(service, monkeypatch, dated=False)
    else:
        point_at_openai(service, monkeypatch)
    extra = "  provider: azure\n" if azure else ""
    path = write_sweep(tmp_path, extra=extra + "objective: {metric: valid_loss, reduce: min}\n")
    with open_study(path) as study:
        backend = backend_of(study)
        submit(study, backend, count=2, retry=FAST)
        finish()
        report = sync(study, backend)
        trials = study.trials()
    assert report.told.finished == 2
    counts = service.counts()
    assert counts["files.content"] == 2 and counts["jobs.events"] == 0  # the file had it all
    for trial in trials:
        (job,) = [j for j in service.jobs if j.id == trial.job.id]
        losses = [row["valid_loss"] for row in job.rows if row.get("valid_loss") is not None]
        assert trial.values == (min(losses),)


def test_cancel_of_a_job_that_finished_since_the_last_sync_says_so_and_goes_on(
    env: StandIn, sweep_file: Path
):
    with open_study(sweep_file) as study:
        backend = backend_of(study)
        submit(study, backend, count=2, retry=FAST)
        finish()  # both finished on the service; the study does not know yet
        report = cancel(study, backend)
        sync(study, backend)
        trials = study.trials()
    assert len(report.refused) == 2 and not report.cancelled
    assert all("already finished" in why for _, why in report.refused)
    assert all(t.state == State.COMPLETE for t in trials)

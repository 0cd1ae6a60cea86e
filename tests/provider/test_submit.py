"""`submit` against the stand-in through the real `openai` client: one job per trial, whatever
the service does to the requests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ftsweep.errors import CredentialsError, PlanError, ServiceError
from ftsweep.provider import Retry, submit
from ftsweep.study.records import State
from ftsweep.testing import Fault, StandIn
from tests.provider.conftest import (
    FAST,
    backend_of,
    jobs_per_trial,
    open_study,
    point_at_openai,
    write_sweep,
)


def test_submit_creates_one_job_per_new_trial_and_stores_each_id(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        report = submit(study, backend_of(study), count=3, retry=FAST)
        trials = study.trials()
    assert len(report.created) == 3 and not report.found and not report.refused
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}
    assert {t.job.id for t in trials} == {job.id for job in env.jobs}
    assert all(t.job.submitter and t.job.submitted_at for t in trials)
    counts = env.counts()
    # Trials this submit just asked cannot have a job: no look-up is made for them.
    assert counts["jobs.create"] == 3 and counts["jobs.list"] == 0
    assert counts["files.create"] == 2  # the training and the validation file, once each


def test_a_second_submit_finds_nothing_to_do_and_sends_no_create(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        submit(study, backend_of(study), count=2, retry=FAST)
        again = submit(study, backend_of(study), retry=FAST)
    assert again.submitted == 0 and env.counts()["jobs.create"] == 2


def test_the_body_sent_is_the_trials_with_the_uploaded_file_ids(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        submit(study, backend_of(study), count=1, retry=FAST)
        (trial,) = study.trials()
    (job,) = env.jobs
    files = {f.filename: f.id for f in env.files}
    assert job.spec.training_file == files["train.jsonl"]
    assert job.spec.validation_file == files["valid.jsonl"]
    assert job.spec.metadata == {"ftsweep_sweep": "svc", "ftsweep_trial": trial.key}
    assert job.spec.suffix == f"t-{trial.number:04d}"
    assert trial.params is not None
    assert job.spec.hyperparameters["n_epochs"] == trial.params["n_epochs"]


def test_uploads_are_reused_by_content_and_redone_when_it_changes(env: StandIn, sweep_file: Path):
    with open_study(sweep_file) as study:
        submit(study, backend_of(study), count=1, retry=FAST)
        submit(study, backend_of(study), count=1, retry=FAST)
    assert env.counts()["files.create"] == 2
    (sweep_file.parent / "data" / "train.jsonl").write_text('{"messages": []}\n' * 3)
    with open_study(sweep_file) as study:  # a new process: the id comes from the study
        submit(study, backend_of(study), count=1, retry=FAST)
    assert env.counts()["files.create"] == 3


def test_a_file_id_stays_a_file_id(env: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path)
    with open_study(path) as study:
        submit(study, backend_of(study), count=1, retry=FAST)
    ids = {f.filename: f.id for f in env.files}
    text = path.read_text().replace("data/train.jsonl", ids["train.jsonl"])
    path.write_text(text.replace("data/valid.jsonl", ids["valid.jsonl"]))
    with open_study(path) as study:
        submit(study, backend_of(study), count=1, retry=FAST)
    assert env.counts()["files.create"] == 2
    assert {j.spec.training_file for j in env.jobs} == {ids["train.jsonl"]}


def test_a_missing_local_file_is_an_error_naming_it(env: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path)
    (tmp_path / "data" / "train.jsonl").unlink()
    with open_study(path) as study, pytest.raises(PlanError, match="training_file: no such file"):
        submit(study, backend_of(study), count=1, retry=FAST)
    assert env.counts()["jobs.create"] == 0


def test_a_create_whose_answer_is_lost_is_found_not_made_twice(env: StandIn, sweep_file: Path):
    env.inject(Fault.drop_after_create(nth=2))
    with open_study(sweep_file) as study:
        report = submit(study, backend_of(study), count=3, parallel=1, retry=FAST)
        trials = study.trials()
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}
    assert len(report.created) == 2 and len(report.found) == 1
    assert all(t.job.id for t in trials)


def test_an_answer_later_than_the_timeout_is_found_not_made_twice(env: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, timeout=0.5)
    env.inject(Fault.delay("jobs.create", 1.5))
    with open_study(path) as study:
        report = submit(study, backend_of(study), count=2, parallel=1, retry=FAST)
        trials = study.trials()
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}
    assert report.submitted == 2


@pytest.mark.parametrize("code", [408, 409, 500, 502, 503])
def test_transient_statuses_are_retried_after_a_look_up(env: StandIn, sweep_file: Path, code: int):
    env.inject(Fault.status("jobs.create", code, times=2))
    with open_study(sweep_file) as study:
        report = submit(study, backend_of(study), count=2, parallel=1, retry=FAST)
        trials = study.trials()
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}
    assert report.submitted == 2 and env.counts()["jobs.list"] >= 2  # looked up before each retry


def test_a_429_storm_with_a_short_retry_after_is_waited_out(env: StandIn, sweep_file: Path):
    env.inject(Fault.rate_limit("jobs.create", retry_after=0.05, times=4))
    with open_study(sweep_file) as study:
        report = submit(study, backend_of(study), count=2, parallel=1, retry=Retry(first=0.01))
    assert report.submitted == 2 and len(env.jobs) == 2


def test_a_retry_after_over_the_patience_stops_and_a_rerun_completes(
    env: StandIn, sweep_file: Path
):
    env.inject(Fault.rate_limit("jobs.create", retry_after=600, times=1))
    with open_study(sweep_file) as study:
        with pytest.raises(ServiceError, match="asks to wait 600 s"):
            submit(study, backend_of(study), count=2, parallel=1, retry=FAST)
        report = submit(study, backend_of(study), retry=FAST)  # the resume: no -n
        trials = study.trials()
    assert len(trials) == 2 and all(t.job.id for t in trials)
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}
    assert report.submitted >= 1


def test_a_body_the_service_refuses_fails_its_trial_and_the_rest_go_on(
    service: StandIn, env: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path)
    text = path.read_text().replace(
        "space:\n", "space:\n  model: [gpt-4.1-mini-2025-04-14, no-such-model]\n"
    )
    path.write_text(text.replace("max_trials: 20", "max_trials: 4"))
    with open_study(path) as study:
        report = submit(study, backend_of(study), count=4, retry=FAST)
        trials = {t.key: t for t in study.trials()}
    assert report.refused and report.created
    for key, message in report.refused:
        assert "no-such-model" in message
        assert trials[key].state == State.FAIL and "refused" in (trials[key].job.error or "")
    assert all(trials[key].job.id for key in report.created)


def test_a_refused_key_stops_with_the_variable_to_set_and_no_key_shown(
    env: StandIn, sweep_file: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-0123456789abcdef")
    with open_study(sweep_file) as study:
        with pytest.raises(CredentialsError) as caught:
            submit(study, backend_of(study), count=1, retry=FAST)
    assert "OPENAI_API_KEY" in str(caught.value)
    assert "0123456789abcdef" not in str(caught.value)


def test_no_key_at_all_names_the_variable(env: StandIn, sweep_file: Path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with open_study(sweep_file) as study, pytest.raises(CredentialsError, match="OPENAI_API_KEY"):
        backend_of(study)


def test_submit_of_a_batch_file_submits_its_trials_only(env: StandIn, sweep_file: Path):
    from ftsweep.cli.loop_actions import ask_command

    batch = sweep_file.parent / "batch.jsonl"
    ask_command(sweep_file, 3, output=batch, storage=None)
    with open_study(sweep_file) as study:
        study.ask(2)  # handed out elsewhere: not in this batch
        report = submit(study, backend_of(study), batch=batch, retry=FAST)
        trials = study.trials()
    assert sorted(report.created) == [t.key for t in trials[:3]]
    assert [bool(t.job.id) for t in trials] == [True, True, True, False, False]
    # Trials that `ask` handed out may have been sent by hand: they were looked up first.
    assert env.counts()["jobs.list"] == 1


def test_a_job_sent_by_hand_from_a_batch_is_linked_not_made_again(env: StandIn, sweep_file: Path):
    import json

    import openai

    from ftsweep.cli.loop_actions import ask_command

    batch = sweep_file.parent / "batch.jsonl"
    ask_command(sweep_file, 2, output=batch, storage=None)
    first = json.loads(batch.read_text().splitlines()[0])
    client = openai.OpenAI(api_key=env.api_key, base_url=env.base_url, max_retries=0)
    upload = client.files.create(file=("t.jsonl", b'{"messages": []}\n'), purpose="fine-tune")
    import time

    time.sleep(0.1)
    first["training_file"] = first["validation_file"] = upload.id
    client.fine_tuning.jobs.create(
        model=first.pop("model"), training_file=first.pop("training_file"), extra_body=first
    )
    with open_study(sweep_file) as study:
        report = submit(study, backend_of(study), retry=FAST)
        trials = study.trials()
    assert len(report.found) == 1 and len(report.created) == 1
    assert jobs_per_trial(env) == {t.key: 1 for t in trials}



def test_a_create_slower_than_the_timeout_is_looked_for_once_it_had_time(
    env: StandIn, tmp_path: Path
):
    """The service takes 0.8 s to make the job, the client waits 0.5 s: submit waits out the
    request's own timeout before it looks, finds the job, and creates no second one."""
    path = write_sweep(tmp_path, timeout=0.5)
    env.inject(Fault.slow_create(0.8))
    with open_study(path) as study:
        report = submit(study, backend_of(study), count=1, retry=FAST)
        (trial,) = study.trials()
    assert report.found == [trial.key] and len(env.jobs) == 1


def test_a_second_job_made_by_a_very_slow_service_is_cancelled_by_sync(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from ftsweep.provider import sync

    with StandIn(phase_seconds=3) as slow:  # its jobs run long enough to be cancelled
        point_at_openai(slow, monkeypatch)
        path = write_sweep(tmp_path, timeout=0.3)
        slow.inject(Fault.slow_create(1.5))  # slower than any look-up allows for: two jobs
        with open_study(path) as study:
            backend = backend_of(study)
            submit(study, backend, count=1, retry=FAST)
            time.sleep(1.5)  # the slow request makes its job meanwhile
            report = sync(study, backend)
            again = sync(study, backend)
            (trial,) = study.trials()
        jobs = slow.jobs
        cancels = slow.counts()["jobs.cancel"]
    assert len(jobs) == 2
    (second,) = [job for job in jobs if job.id != trial.job.id]
    assert f"{trial.key} has a second job {second.id}: cancelled it" in report.notes
    assert cancels == 1 and trial.state == State.RUNNING  # the trial keeps its first job
    assert again.notes == [f"{trial.key} has a second job {second.id}: it is cancelled; "
                           f"the trial keeps {trial.job.id}"]

"""OpenAI's /v1 routes, driven by the real openai.OpenAI client on a manual clock."""

from __future__ import annotations

import base64

import openai
import pytest

from ftsweep.testing import JobError, JobSpec, ManualClock, StandIn

from .conftest import MODEL, PHASE, chat_lines, finish, upload


def test_an_upload_is_processed_on_the_clock(service: StandIn, client: openai.OpenAI) -> None:
    created = client.files.create(file=("train.jsonl", chat_lines(12)), purpose="fine-tune")
    assert (created.status, created.filename, created.purpose) == (
        "uploaded",
        "train.jsonl",
        "fine-tune",
    )
    service.advance(PHASE)
    assert client.files.retrieve(created.id).status == "processed"
    assert client.files.content(created.id).read() == chat_lines(12)


def test_an_upload_with_a_bad_line_ends_in_error(service: StandIn, client: openai.OpenAI) -> None:
    bad = chat_lines(3) + b"not json\n"
    created = client.files.create(file=("bad.jsonl", bad), purpose="fine-tune")
    service.advance(PHASE)
    retrieved = client.files.retrieve(created.id)
    assert retrieved.status == "error"
    assert retrieved.status_details == "Invalid file format. Line 4: not valid JSON."


def test_a_job_moves_through_its_phases(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    seen = [job.status]
    for _ in range(3):
        service.advance(PHASE)
        seen.append(client.fine_tuning.jobs.retrieve(job.id).status)
    assert seen == ["validating_files", "queued", "running", "succeeded"]


def test_a_succeeded_job_reports_what_it_trained(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(
        model=MODEL, training_file=upload(service, client, lines=12), suffix="trial-1"
    )
    assert job.method.supervised.hyperparameters.n_epochs == "auto"
    finish(service)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.fine_tuned_model == f"ft:{MODEL}:org-standin:trial-1:" + done.fine_tuned_model[-8:]
    assert done.finished_at == int(service.jobs[0].ends_at())
    assert done.hyperparameters.n_epochs == 8  # 12 examples: min(25, 100 // 12)
    assert done.method.supervised.hyperparameters.model_dump() == {
        "batch_size": 1,
        "learning_rate_multiplier": 1.8,
        "n_epochs": 8,
    }
    assert done.trained_tokens is not None and done.trained_tokens > 0
    assert len(done.result_files) == 1


def test_auto_is_unresolved_until_the_job_runs(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    service.advance(PHASE)
    assert client.fine_tuning.jobs.retrieve(job.id).hyperparameters.n_epochs == "auto"
    service.advance(PHASE)
    assert client.fine_tuning.jobs.retrieve(job.id).hyperparameters.n_epochs == 8


def test_the_result_file_is_base64_csv(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    job = client.fine_tuning.jobs.create(
        model=MODEL,
        training_file=training,
        validation_file=training,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    finish(service)
    [result] = client.fine_tuning.jobs.retrieve(job.id).result_files
    text = base64.b64decode(client.files.content(result).read()).decode()
    lines = text.splitlines()
    assert lines[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert len(lines) == 1 + 24  # 2 epochs of 12 batches of 1
    assert lines[1].endswith(",,")  # no validation on the first step
    assert not lines[12].endswith(",,")  # the end of epoch 1 is validated


def test_a_result_file_is_hidden_until_the_job_succeeds(
    service: StandIn, client: openai.OpenAI
) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(service.jobs[0].result_file_id)
    finish(service)
    assert client.files.retrieve(service.jobs[0].result_file_id).purpose == "fine-tune-results"
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_events_page_newest_first_with_metrics(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    job = client.fine_tuning.jobs.create(
        model=MODEL, training_file=training, validation_file=training
    )
    finish(service)
    first = client.fine_tuning.jobs.list_events(job.id, limit=3)
    assert first.has_more
    assert [event.message for event in first.data][:2] == [
        "The job has successfully completed",
        f"New fine-tuned model created: {service.jobs[0].fine_tuned_model}",
    ]
    every = list(client.fine_tuning.jobs.list_events(job.id, limit=10))
    metrics = [event for event in every if event.type == "metrics"]
    assert len(metrics) == 96
    last = metrics[0].data
    assert last is not None and last["step"] == 96 and last["total_steps"] == 96
    assert {"train_loss", "train_mean_token_accuracy", "full_valid_loss"} <= set(last)
    assert every[-1].message == f"Created fine-tuning job: {job.id}"


def test_metric_events_appear_while_the_job_runs(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    service.advance(2 * PHASE + PHASE / 2)
    events = list(client.fine_tuning.jobs.list_events(job.id, limit=100))
    steps = [event.data["step"] for event in events if event.type == "metrics" and event.data]
    assert 0 < len(steps) < 96 and steps == sorted(steps, reverse=True)


def test_checkpoints_carry_metrics(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    job = client.fine_tuning.jobs.create(
        model=MODEL,
        training_file=training,
        validation_file=training,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}},
    )
    assert client.fine_tuning.jobs.checkpoints.list(job.id).data == []
    finish(service)
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [checkpoint.step_number for checkpoint in checkpoints] == [48, 36, 24]
    metrics = checkpoints[0].metrics.model_dump(exclude_none=True)
    assert set(metrics) == {
        "step",
        "train_loss",
        "train_mean_token_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
        "full_valid_loss",
        "full_valid_mean_token_accuracy",
    }
    assert checkpoints[0].fine_tuned_model_checkpoint.endswith(":ckpt-step-48")


def test_jobs_list_pages_newest_first(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    made = [
        client.fine_tuning.jobs.create(model=MODEL, training_file=training).id for _ in range(5)
    ]
    page = client.fine_tuning.jobs.list(limit=2)
    assert [job.id for job in page.data] == made[:-3:-1] and page.has_more
    assert [job.id for job in client.fine_tuning.jobs.list(limit=2)] == made[::-1]
    assert service.counts()["jobs.list"] == 1 + 3


def test_jobs_list_filters_by_metadata(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    for key in ("a", "b", "a"):
        client.fine_tuning.jobs.create(
            model=MODEL, training_file=training, metadata={"ftsweep_trial": key, "team": "x"}
        )
    found = list(client.fine_tuning.jobs.list(metadata={"ftsweep_trial": "a"}))
    assert [job.metadata for job in found] == [{"ftsweep_trial": "a", "team": "x"}] * 2
    assert list(client.fine_tuning.jobs.list(metadata={"ftsweep_trial": "c"})) == []


def test_cancel_stops_a_job(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    service.advance(2 * PHASE + PHASE / 2)
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.fine_tuned_model is None
    finish(service)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    assert (
        client.fine_tuning.jobs.list_events(job.id).data[0].message == "Fine-tuning job cancelled"
    )


def test_a_finished_job_cannot_be_cancelled(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    finish(service)
    with pytest.raises(openai.BadRequestError, match="already finished"):
        client.fine_tuning.jobs.cancel(job.id)


def test_an_unknown_job_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="No such job: ftjob-nope"):
        client.fine_tuning.jobs.retrieve("ftjob-nope")


def test_too_few_examples_fail_in_validation(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(
        model=MODEL, training_file=upload(service, client, lines=3)
    )
    service.advance(PHASE)
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error is not None
    assert (failed.error.code, failed.error.param) == ("invalid_n_examples", "training_file")
    assert "has 3 example(s)" in failed.error.message


def test_fail_when_fails_chosen_jobs_after_training() -> None:
    def fail_big_batches(spec: JobSpec) -> JobError | None:
        if spec.hyperparameters["batch_size"] == 64:
            return JobError("training_failed", "Out of memory", "batch_size")
        return None

    with StandIn(clock=ManualClock(), phase_seconds=PHASE, fail_when=fail_big_batches) as service:
        with openai.OpenAI(base_url=service.base_url, api_key=service.api_key) as client:
            training = upload(service, client)
            hyper = {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 64}}}
            bad = client.fine_tuning.jobs.create(model=MODEL, training_file=training, method=hyper)
            good = client.fine_tuning.jobs.create(model=MODEL, training_file=training)
            finish(service)
            failed = client.fine_tuning.jobs.retrieve(bad.id)
            assert failed.status == "failed" and failed.result_files == []
            assert failed.error is not None and failed.error.message == "Out of memory"
            assert client.fine_tuning.jobs.retrieve(good.id).status == "succeeded"


def test_a_wrong_key_is_401_in_openai_shape(service: StandIn) -> None:
    with openai.OpenAI(base_url=service.base_url, api_key="sk-wrong", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as raised:
            client.fine_tuning.jobs.list()
    assert raised.value.status_code == 401
    assert raised.value.body == {
        "message": (
            "Incorrect API key provided. You can find your API key in your account settings."
        ),
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert service.requests[-1].status == 401


def test_an_unknown_route_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.get("/models", cast_to=object)


def test_counts_per_route_kind(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=upload(service, client))
    client.fine_tuning.jobs.retrieve(job.id)
    client.fine_tuning.jobs.retrieve(job.id)
    assert service.counts() == {"files.create": 1, "jobs.create": 1, "jobs.retrieve": 2}
    assert [record.kind for record in service.requests] == [
        "files.create",
        "jobs.create",
        "jobs.retrieve",
        "jobs.retrieve",
    ]

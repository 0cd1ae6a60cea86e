"""Azure's dated API through openai.AzureOpenAI, and Azure v1 through openai.OpenAI."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from ftsweep.testing import StandIn

from .conftest import AZURE_VERSION, MODEL, PHASE, chat_lines, finish


def _upload(service: StandIn, client: openai.OpenAI) -> str:
    created = client.files.create(file=("train.jsonl", chat_lines(12)), purpose="fine-tune")
    service.advance(PHASE)
    return created.id


@pytest.fixture
def azure_v1(service: StandIn) -> Iterator[openai.OpenAI]:
    base_url = f"{service.azure_endpoint}/openai/v1"
    with openai.OpenAI(base_url=base_url, api_key=service.api_key, max_retries=0) as client:
        yield client


def test_dated_jobs_report_azure_statuses(service: StandIn, azure: openai.AzureOpenAI) -> None:
    job = azure.fine_tuning.jobs.create(model=MODEL, training_file=_upload(service, azure))
    seen = [job.status]
    for _ in range(3):
        service.advance(PHASE)
        seen.append(azure.fine_tuning.jobs.retrieve(job.id).status)
    assert seen == ["created", "pending", "running", "succeeded"]
    assert service.requests[-1].dialect == "azure"


def test_dated_jobs_drop_metadata_and_carry_azure_shapes(
    service: StandIn, azure: openai.AzureOpenAI
) -> None:
    job = azure.fine_tuning.jobs.create(
        model=MODEL, training_file=_upload(service, azure), metadata={"ftsweep_trial": "k"}
    )
    assert job.metadata is None and "metadata" not in (job.model_extra or {})
    assert job.result_files is None and job.integrations is None
    assert job.hyperparameters is not None and job.hyperparameters.n_epochs == -1
    assert job.id.startswith("ftjob-") and len(job.id) == len("ftjob-") + 32
    finish(service)
    done = azure.fine_tuning.jobs.retrieve(job.id)
    assert done.fine_tuned_model == f"{MODEL}.ft-{job.id.removeprefix('ftjob-')}"
    assert done.hyperparameters is not None and done.hyperparameters.n_epochs == 8


def test_dated_jobs_list_ignores_a_metadata_filter(
    service: StandIn, azure: openai.AzureOpenAI
) -> None:
    training = _upload(service, azure)
    azure.fine_tuning.jobs.create(model=MODEL, training_file=training)
    assert len(list(azure.fine_tuning.jobs.list(metadata={"ftsweep_trial": "k"}))) == 1


def test_dated_result_files_are_plain_csv(service: StandIn, azure: openai.AzureOpenAI) -> None:
    job = azure.fine_tuning.jobs.create(model=MODEL, training_file=_upload(service, azure))
    finish(service)
    [result] = azure.fine_tuning.jobs.retrieve(job.id).result_files or []
    text = azure.files.content(result).text
    assert text.startswith("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n")


def test_dated_files_are_pending_then_processed(
    service: StandIn, azure: openai.AzureOpenAI
) -> None:
    created = azure.files.create(file=("t.jsonl", chat_lines(12)), purpose="fine-tune")
    assert created.status == "pending"
    service.advance(PHASE)
    assert azure.files.retrieve(created.id).status == "processed"


def test_dated_suffix_is_18_characters_of_a_small_alphabet(
    service: StandIn, azure: openai.AzureOpenAI
) -> None:
    training = _upload(service, azure)
    for suffix in ("s" * 19, "has space"):
        with pytest.raises(openai.BadRequestError) as raised:
            azure.fine_tuning.jobs.create(model=MODEL, training_file=training, suffix=suffix)
        assert raised.value.body == {
            "code": "invalid_value",
            "message": "suffix must be 1 to 18 characters of [A-Za-z0-9_-].",
            "param": "suffix",
        }
    job = azure.fine_tuning.jobs.create(model=MODEL, training_file=training, suffix="s" * 18)
    assert job.user_provided_suffix == "s" * 18


def test_dated_api_has_no_reinforcement(service: StandIn, azure: openai.AzureOpenAI) -> None:
    training = _upload(service, azure)
    method = {"type": "reinforcement", "reinforcement": {"grader": {"type": "string_check"}}}
    with pytest.raises(openai.BadRequestError) as raised:
        azure.fine_tuning.jobs.create(
            model=MODEL, training_file=training, validation_file=training, method=method
        )
    assert raised.value.param == "method.type"


def test_dated_api_takes_an_entra_token(service: StandIn) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=service.azure_endpoint,
        azure_ad_token=service.api_key,
        api_version=AZURE_VERSION,
        max_retries=0,
    ) as client:
        assert list(client.fine_tuning.jobs.list()) == []


def test_dated_api_refuses_a_wrong_key_in_azure_shape(service: StandIn) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=service.azure_endpoint,
        api_key="wrong",
        api_version=AZURE_VERSION,
        max_retries=0,
    ) as client:
        with pytest.raises(openai.AuthenticationError) as raised:
            client.fine_tuning.jobs.list()
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["code"] == "401"
    assert str(raised.value.body["message"]).startswith("Access denied")


def test_dated_api_needs_an_api_version(service: StandIn) -> None:
    headers = {"api-key": service.api_key}
    base_url = f"{service.azure_endpoint}/openai"
    with openai.OpenAI(base_url=base_url, api_key="x", default_headers=headers) as client:
        with pytest.raises(openai.NotFoundError, match="Resource not found"):
            client.fine_tuning.jobs.list()
        with pytest.raises(openai.BadRequestError, match="API version not supported: 2020-01-01"):
            client.fine_tuning.jobs.list(extra_query={"api-version": "2020-01-01"})


def test_v1_keeps_metadata_and_filters_on_it(service: StandIn, azure_v1: openai.OpenAI) -> None:
    training = _upload(service, azure_v1)
    made = azure_v1.fine_tuning.jobs.create(
        model=MODEL, training_file=training, metadata={"ftsweep_trial": "k"}
    )
    azure_v1.fine_tuning.jobs.create(model=MODEL, training_file=training)
    assert made.metadata == {"ftsweep_trial": "k"} and made.status == "validating_files"
    found = list(azure_v1.fine_tuning.jobs.list(metadata={"ftsweep_trial": "k"}))
    assert [job.id for job in found] == [made.id]
    assert service.requests[-1].dialect == "azure_v1"


def test_v1_result_files_are_plain_csv(service: StandIn, azure_v1: openai.OpenAI) -> None:
    job = azure_v1.fine_tuning.jobs.create(model=MODEL, training_file=_upload(service, azure_v1))
    finish(service)
    [result] = azure_v1.fine_tuning.jobs.retrieve(job.id).result_files
    assert azure_v1.files.content(result).text.startswith("step,train_loss,")


def test_v1_takes_an_api_key_header(service: StandIn) -> None:
    headers = {"api-key": service.api_key}
    base_url = f"{service.azure_endpoint}/openai/v1"
    with openai.OpenAI(base_url=base_url, api_key="not-it", default_headers=headers) as client:
        assert list(client.fine_tuning.jobs.list()) == []


def test_v1_refuses_a_wrong_key(service: StandIn) -> None:
    base_url = f"{service.azure_endpoint}/openai/v1"
    with openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError, match="Access denied"):
            client.fine_tuning.jobs.list()

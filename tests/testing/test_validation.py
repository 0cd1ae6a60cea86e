"""Each job body the service refuses, refused through the real client with its error JSON."""

from __future__ import annotations

import openai
import pytest

from ftsweep.testing import StandIn

from .conftest import MODEL, upload

_HYPER = "method.{method}.hyperparameters.{name}"


def _method(method: str, **hyperparameters: object) -> dict[str, object]:
    section: dict[str, object] = {"hyperparameters": hyperparameters}
    if method == "reinforcement":
        section["grader"] = {
            "type": "string_check",
            "name": "g",
            "operation": "eq",
            "input": "{{sample.output_text}}",
            "reference": "{{item.answer}}",
        }
    return {"type": method, method: section}


def _refused(client: openai.OpenAI, **body: object) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(**body)  # type: ignore[call-overload]
    return raised.value


def _said(error: openai.APIStatusError) -> str:
    """The service's own message (openai 1.x puts the whole error dict in `error.message`)."""
    assert isinstance(error.body, dict)
    return str(error.body["message"])


@pytest.mark.parametrize(
    ("method", "name", "value"),
    [
        ("supervised", "n_epochs", 0),
        ("supervised", "n_epochs", 51),
        ("supervised", "n_epochs", 2.5),
        ("supervised", "batch_size", 0),
        ("supervised", "batch_size", 257),
        ("supervised", "learning_rate_multiplier", 0),
        ("dpo", "beta", 0),
        ("dpo", "beta", 2.5),
        ("reinforcement", "compute_multiplier", 0.00001),
        ("reinforcement", "compute_multiplier", 11),
        ("reinforcement", "eval_interval", 0),
        ("reinforcement", "eval_samples", 0),
        ("reinforcement", "reasoning_effort", "auto"),
    ],
)
def test_a_hyperparameter_out_of_range_is_refused(
    service: StandIn, client: openai.OpenAI, method: str, name: str, value: object
) -> None:
    training = upload(service, client)
    error = _refused(
        client,
        model=MODEL,
        training_file=training,
        validation_file=training,
        method=_method(method, **{name: value}),
    )
    assert error.param == _HYPER.format(method=method, name=name)
    assert f"Invalid {name}: {value!r}" in _said(error)


@pytest.mark.parametrize(("method", "name"), [("supervised", "beta"), ("dpo", "eval_samples")])
def test_a_hyperparameter_of_another_method_is_an_extra_input(
    service: StandIn, client: openai.OpenAI, method: str, name: str
) -> None:
    training = upload(service, client)
    error = _refused(
        client, model=MODEL, training_file=training, method=_method(method, **{name: 1})
    )
    assert error.param == _HYPER.format(method=method, name=name)
    assert _said(error).endswith("Extra inputs are not permitted")


def test_an_unknown_model_is_refused(service: StandIn, client: openai.OpenAI) -> None:
    error = _refused(client, model="gpt-9", training_file=upload(service, client))
    assert (error.code, error.param) == ("model_not_available", "model")
    assert "Model gpt-9 is not available for fine-tuning" in _said(error)


def test_the_model_list_is_configurable() -> None:
    with StandIn(models=["my-model"]) as service:
        with openai.OpenAI(base_url=service.base_url, api_key=service.api_key) as client:
            with pytest.raises(openai.BadRequestError, match="Model gpt-4.1-mini-2025-04-14"):
                client.fine_tuning.jobs.create(model=MODEL, training_file="file-x")


def test_a_missing_training_file_is_refused(service: StandIn, client: openai.OpenAI) -> None:
    error = _refused(client, model=MODEL, training_file="file-nope")
    assert (error.code, error.param) == ("invalid_training_file", "training_file")


def test_an_unprocessed_training_file_is_refused(client: openai.OpenAI) -> None:
    created = client.files.create(file=("t.jsonl", b'{"messages": []}\n'), purpose="fine-tune")
    error = _refused(client, model=MODEL, training_file=created.id)
    assert (error.code, error.param) == ("file_not_ready", "training_file")


def test_a_missing_validation_file_is_refused(service: StandIn, client: openai.OpenAI) -> None:
    error = _refused(
        client, model=MODEL, training_file=upload(service, client), validation_file="file-nope"
    )
    assert error.param == "validation_file"


def test_reinforcement_needs_a_validation_file_and_a_grader(
    service: StandIn, client: openai.OpenAI
) -> None:
    training = upload(service, client)
    method = _method("reinforcement")
    error = _refused(client, model="o4-mini-2025-04-16", training_file=training, method=method)
    assert error.param == "validation_file"
    no_grader = {"type": "reinforcement", "reinforcement": {}}
    error = _refused(
        client, model=MODEL, training_file=training, validation_file=training, method=no_grader
    )
    assert error.param == "method.reinforcement.grader"


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("suffix", "s" * 65, "suffix"),
        ("seed", -1, "seed"),
        ("seed", 2**31, "seed"),
        ("metadata", {f"k{i}": "v" for i in range(17)}, "metadata"),
        ("metadata", {"k" * 65: "v"}, "metadata"),
        ("metadata", {"k": "v" * 513}, "metadata"),
        ("metadata", {"k": 1}, "metadata"),
    ],
)
def test_job_fields_over_the_limits_are_refused(
    service: StandIn, client: openai.OpenAI, field: str, value: object, param: str
) -> None:
    error = _refused(client, model=MODEL, training_file=upload(service, client), **{field: value})
    assert error.param == param


def test_the_limits_themselves_are_accepted(service: StandIn, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(
        model=MODEL,
        training_file=upload(service, client),
        suffix="s" * 64,
        seed=2**31 - 1,
        metadata={f"{i:064d}": "v" * 512 for i in range(16)},
    )
    assert job.user_provided_suffix == "s" * 64


def test_an_unrecognised_field_is_refused(service: StandIn, client: openai.OpenAI) -> None:
    error = _refused(
        client, model=MODEL, training_file=upload(service, client), extra_body={"trainingType": 1}
    )
    assert _said(error).endswith("Unrecognized request argument supplied: trainingType")


def test_an_upload_for_another_purpose_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.files.create(file=("t.jsonl", b"{}\n"), purpose="assistants")
    assert raised.value.param == "purpose"

"""DPO and reinforcement jobs: their hyperparameters, and reinforcement's reward events."""

from __future__ import annotations

import openai

from ftsweep.testing import StandIn

from .conftest import MODEL, finish, upload

_GRADER = {
    "type": "string_check",
    "name": "exact",
    "operation": "eq",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
}


def test_dpo_reports_its_hyperparameters_only_under_method(
    service: StandIn, client: openai.OpenAI
) -> None:
    method = {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2}}}
    job = client.fine_tuning.jobs.create(
        model=MODEL, training_file=upload(service, client), method=method
    )
    finish(service)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.hyperparameters is None
    assert done.method.dpo is not None and done.method.dpo.hyperparameters is not None
    assert done.method.dpo.hyperparameters.model_dump() == {
        "batch_size": 1,
        "beta": 0.1,
        "learning_rate_multiplier": 1.8,
        "n_epochs": 2,
    }


def test_reinforcement_reports_rewards(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    method = {
        "type": "reinforcement",
        "reinforcement": {"grader": _GRADER, "hyperparameters": {"reasoning_effort": "low"}},
    }
    job = client.fine_tuning.jobs.create(
        model="o4-mini-2025-04-16", training_file=training, validation_file=training, method=method
    )
    finish(service)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.method.reinforcement is not None
    assert done.method.reinforcement.grader.type == "string_check"
    hyper = done.method.reinforcement.hyperparameters
    assert hyper is not None and (hyper.reasoning_effort, hyper.compute_multiplier) == ("low", 1.0)
    events = client.fine_tuning.jobs.list_events(job.id, limit=100)
    last = next(event.data for event in events if event.type == "metrics")
    assert last is not None and 0 < last["valid_reward_mean"] < 1
    assert last["scores"] == {"valid_reward_mean": last["valid_reward_mean"]}
    assert "train_mean_reward" in last and "full_valid_mean_parse_error" in last

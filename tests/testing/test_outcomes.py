"""Outcomes are a deterministic, smooth function of the hyperparameters, and configurable."""

from __future__ import annotations

import openai
import pytest

from ftsweep.testing import ManualClock, StandIn, TrialInput, smooth_loss, smooth_reward
from ftsweep.testing.outcomes import learning_speed, result_csv, step_rows, total_steps

from .conftest import MODEL, PHASE, finish, upload


def _trial(**hyperparameters: object) -> TrialInput:
    values = {"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 1.0, **hyperparameters}
    return TrialInput(MODEL, "supervised", values, seed=1)


def test_the_loss_is_lowest_near_lrm_1_and_3_epochs() -> None:
    best = smooth_loss(_trial())
    for worse in (
        _trial(learning_rate_multiplier=0.2),
        _trial(learning_rate_multiplier=4.0),
        _trial(n_epochs=1),
        _trial(n_epochs=8),
    ):
        assert smooth_loss(worse) > best + 0.05


def test_the_noise_is_small_seeded_and_repeatable() -> None:
    assert smooth_loss(_trial()) == smooth_loss(_trial())
    other_seed = TrialInput(MODEL, "supervised", _trial().hyperparameters, seed=2)
    assert smooth_loss(other_seed) != smooth_loss(_trial())
    assert abs(smooth_loss(other_seed) - smooth_loss(_trial())) <= 0.02


def test_the_reward_rises_as_the_loss_falls() -> None:
    assert smooth_reward(_trial()) > smooth_reward(_trial(learning_rate_multiplier=4.0))


def test_a_curve_ends_at_its_final_value() -> None:
    rows = step_rows("supervised", 0.4, steps=12, n_epochs=3)
    assert rows[-1]["full_valid_loss"] == 0.4
    assert [row["step"] for row in rows if "full_valid_loss" in row] == [4, 8, 12]
    assert rows[0]["train_loss"] is not None and rows[0]["train_loss"] > rows[-1]["train_loss"]


def test_without_validation_no_row_has_validation_figures() -> None:
    rows = step_rows("supervised", 0.4, steps=6, n_epochs=2, validated=False)
    assert all(row["valid_loss"] is None and "full_valid_loss" not in row for row in rows)
    first = rows[0]
    expected = f"1,{first['train_loss']},{first['train_mean_token_accuracy']},,"
    assert result_csv("supervised", rows).splitlines()[1] == expected


@pytest.mark.parametrize("lrm", [0.5, 2.0])
def test_a_configured_outcome_decides_the_final_loss(lrm: float) -> None:
    def outcome(trial: TrialInput) -> float:
        return float(trial.hyperparameters["learning_rate_multiplier"])  # type: ignore[arg-type]

    with StandIn(clock=ManualClock(), phase_seconds=PHASE, outcome=outcome) as service:
        with openai.OpenAI(base_url=service.base_url, api_key=service.api_key) as client:
            training = upload(service, client)
            method = {
                "type": "supervised",
                "supervised": {"hyperparameters": {"learning_rate_multiplier": lrm}},
            }
            job = client.fine_tuning.jobs.create(
                model=MODEL, training_file=training, validation_file=training, method=method
            )
            finish(service)
            [checkpoint, *_] = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert checkpoint.metrics.full_valid_loss == lrm


def test_two_services_report_the_same_job_alike() -> None:
    def run() -> list[object]:
        with StandIn(clock=ManualClock(), phase_seconds=PHASE) as service:
            with openai.OpenAI(base_url=service.base_url, api_key=service.api_key) as client:
                training = upload(service, client)
                job = client.fine_tuning.jobs.create(
                    model=MODEL, training_file=training, validation_file=training, seed=3
                )
                finish(service)
                return [event.model_dump() for event in client.fine_tuning.jobs.list_events(job.id)]

    assert run() == run()


def _epoch_ends(lrm: float, n_epochs: int = 4) -> list[float]:
    """The full-validation losses a running job of this learning rate reports, epoch by epoch."""
    trial = _trial(learning_rate_multiplier=lrm, n_epochs=n_epochs)
    final, steps = smooth_loss(trial), total_steps(80, n_epochs, 8)
    rows = step_rows("supervised", final, steps, n_epochs, speed=learning_speed(trial))
    found = [row["full_valid_loss"] for row in rows if "full_valid_loss" in row]
    assert len(found) == n_epochs and found[-1] == round(final, 6)  # it ends where it should
    return [float(v) for v in found if v is not None]


def test_a_bad_learning_rate_is_visibly_bad_from_the_first_epoch() -> None:
    good, slow, fast = _epoch_ends(1.0), _epoch_ends(0.1), _epoch_ends(4.0)
    assert good == sorted(good, reverse=True)  # a learning curve: it only falls
    for bad in (slow, fast):
        assert bad[0] > good[0] + 0.1  # worse already after one epoch of four
        assert all(b > g for b, g in zip(bad, good, strict=True))
    assert fast[0] - fast[-1] < good[0] - good[-1]  # a large rate stalls early


def test_the_learning_rate_sets_how_fast_a_curve_falls_not_where_it_ends() -> None:
    rows = step_rows("supervised", 0.4, steps=12, n_epochs=3, speed=0.5)
    quick = step_rows("supervised", 0.4, steps=12, n_epochs=3, speed=3.0)
    assert rows[-1]["full_valid_loss"] == quick[-1]["full_valid_loss"] == 0.4
    assert rows[3]["full_valid_loss"] > quick[3]["full_valid_loss"]  # type: ignore[operator]
    assert learning_speed(_trial(learning_rate_multiplier=4.0)) == 4.0
    assert learning_speed(_trial()) == 2.0


def test_a_reward_rises_along_the_same_curve() -> None:
    rows = step_rows("reinforcement", 0.8, steps=12, n_epochs=3, speed=2.0)
    rewards = [row["valid_reward_mean"] for row in rows if row["valid_reward_mean"] is not None]
    assert rewards == sorted(rewards) and rewards[-1] == 0.8

"""Learning curves on trials (`ftsweep.study.curves`): read from a job's rows, stored once,
judged beside the others, and what stopping a job saves."""

from __future__ import annotations

from typing import Any

import pytest

from ftsweep.data.cost import Costing, DataSize
from ftsweep.study.curves import (
    JobCurve,
    curve_of,
    epoch_examples,
    hopeless,
    job_curve,
    prune_metric,
    pruning,
)
from ftsweep.study.curves import report as report_of
from ftsweep.study.records import JobRecord, Pruned, Report, State, TrialRecord
from ftsweep.sweep import loads_sweep

from .test_study import sweep_text

PRUNE = "prune: {rule: median, startup_trials: 2}\n"
PRICES = "prices: {gpt-4.1-mini: {per_1m_trained_tokens: 5.0}}\n"


def trial(number: int, state: State = State.RUNNING, **fields: Any) -> TrialRecord:
    params = {"n_epochs": 3, "batch_size": 8}
    return TrialRecord(number, f"s-{number:04d}", params, state, **fields)


def test_the_prune_metric_is_the_objectives_unless_named() -> None:
    assert prune_metric(loads_sweep(sweep_text(extra=PRUNE))) == ("full_valid_loss", "minimize")
    named = PRUNE.replace("median", "median, metric: full_valid_mean_token_accuracy")
    assert prune_metric(loads_sweep(sweep_text(extra=named))) == (
        "full_valid_mean_token_accuracy",
        "maximize",
    )
    maximised = "objective: {metric: score, direction: maximize}\n" + PRUNE
    assert prune_metric(loads_sweep(sweep_text(extra=maximised))) == ("score", "maximize")


def test_a_jobs_rows_make_its_curve_by_step_and_where_it_is() -> None:
    rows = [
        {"step": 1, "train_loss": 2.0, "total_steps": 30},
        {"step": 10, "full_valid_loss": 1.5, "total_steps": 30},
        {"step": "20", "full_valid_loss": "1.25"},  # a result file's cells are text
        {"step": 21, "full_valid_loss": float("nan")},  # diverged: no point
        {"step": 22, "train_loss": 1.0},
        {"step": None, "full_valid_loss": 0.1},  # no step: not a row of the curve
    ]
    curve = job_curve(rows, "full_valid_loss", batch_size=8)
    assert curve == JobCurve({10: 1.5, 20: 1.25}, batch_size=8, reached=22, total_steps=30)
    assert curve.by_progress() == {80: 1.5, 160: 1.25}  # examples trained: step x batch size
    assert job_curve([{"train_loss": 1.0}], "full_valid_loss", 8) is None


def test_a_reward_in_scores_is_read_too() -> None:
    rows = [
        {"step": 5, "scores": {"valid_reward_mean": 0.4}},
        {"step": 6, "valid_reward_mean": 0.5},
    ]
    curve = job_curve(rows, "valid_reward_mean", batch_size=2)
    assert curve is not None and curve.by_progress() == {10: 0.4, 12: 0.5}


def test_a_curve_the_trial_holds_already_is_not_written_again() -> None:
    curve = JobCurve({10: 1.5, 20: 1.25}, batch_size=8, reached=20)
    fresh = trial(0)
    assert report_of(fresh, curve) == Report(0, {80: 1.5, 160: 1.25})
    held = trial(0, intermediate_values={80: 1.5, 160: 1.25})
    assert report_of(held, curve) is None
    moved = trial(0, intermediate_values={80: 1.5})
    assert report_of(moved, curve) == Report(0, {80: 1.5, 160: 1.25})


def test_a_stored_curve_is_complete_only_once_its_job_finished_whole() -> None:
    values = {160: 1.25, 80: 1.5}
    assert curve_of(trial(0, State.COMPLETE, intermediate_values=values)).points == (
        (80.0, 1.5),
        (160.0, 1.25),
    )
    assert curve_of(trial(0, State.COMPLETE, intermediate_values=values)).complete
    assert not curve_of(trial(0, State.PRUNED, intermediate_values=values)).complete
    assert not curve_of(trial(0, State.RUNNING, intermediate_values=values)).complete


def test_hopeless_judges_the_named_running_trials_beside_every_other_curve() -> None:
    sweep = loads_sweep(sweep_text(extra=PRUNE))
    trials = [
        trial(0, State.COMPLETE, values=(0.5,), intermediate_values={80: 1.0, 160: 0.5}),
        trial(1, State.COMPLETE, values=(0.6,), intermediate_values={80: 1.1, 160: 0.6}),
        trial(2, intermediate_values={80: 2.0}),  # hopeless
        trial(3, intermediate_values={80: 0.9}),  # fine
        trial(4),  # no curve yet
        trial(5, intermediate_values={80: 3.0}, discarded="batch not written"),  # not the sweep's
    ]
    found = hopeless(sweep, trials, [2, 3, 4])
    assert [(t.number, v.x, v.value) for t, v in found] == [(2, 80.0, 2.0)]
    # Trials plain Optuna added report in their own units: they do not move the median.
    foreign = [
        TrialRecord(n, f"s-{n:04d}", None, State.COMPLETE, (0.1,), intermediate_values={80: v})
        for n, v in ((6, 0.5), (7, 0.6))
    ]
    assert [t.number for t, _ in hopeless(sweep, [*trials, *foreign], [2, 3])] == [2]
    assert hopeless(sweep, trials[1:], [2, 3]) == []  # one finished curve: startup_trials is 2
    assert hopeless(loads_sweep(sweep_text()), trials, [2]) == []  # no prune: section


def test_a_one_epoch_warm_up_comes_from_the_data_or_from_what_finished_trials_trained() -> None:
    """`warmup_examples: auto`: one epoch is the training file's examples when it is local, else
    what each finished trial trained over the epochs its job resolved (the median)."""
    sweep = loads_sweep(sweep_text(extra="prune: {startup_trials: 2}\n"))
    resolved = [JobRecord(resolved={"n_epochs": n}) for n in (2, 4)]
    trials = [
        trial(
            0,
            State.COMPLETE,
            values=(0.5,),
            job=resolved[0],
            intermediate_values={25: 1.2, 50: 1.0, 100: 0.5},
        ),
        trial(
            1,
            State.COMPLETE,
            values=(0.6,),
            job=resolved[1],
            intermediate_values={25: 1.3, 100: 0.9, 200: 0.6},
        ),
        trial(2, intermediate_values={40: 2.0}),  # far behind, but less than an epoch in
        trial(3, intermediate_values={40: 2.0, 60: 2.0}),  # an epoch in: pruned
    ]
    assert epoch_examples(trials) == 50  # 100 / 2 and 200 / 4
    assert epoch_examples(trials[2:]) is None
    assert [t.number for t, _ in hopeless(sweep, trials, [2, 3])] == [3]
    assert [t.number for t, _ in hopeless(sweep, trials, [2, 3], examples=70)] == []
    assert [t.number for t, _ in hopeless(sweep, trials, [2, 3], examples=30)] == [2, 3]


def test_what_stopping_a_job_saves_is_the_untrained_share_of_its_estimate() -> None:
    sweep = loads_sweep(sweep_text(extra=PRICES))
    priced = Costing(sweep, DataSize(examples=80, tokens=10_000), sweep.spec.prices)
    # 3 epochs of 10,000 tokens: 30,000 tokens, 0.15 at 5 a million; 10 of 30 steps trained.
    curve = JobCurve({10: 1.5}, batch_size=8, reached=10, total_steps=30)
    assert pruning(trial(2), curve, priced) == Pruned(10, 80, 1.5, 20_000, 0.1)
    # Without total_steps from the service: epochs x batches of the training file (3 x 10).
    assert pruning(trial(2), JobCurve({10: 1.5}, 8, reached=15), priced) == Pruned(
        10, 80, 1.5, 15_000, 0.075
    )


def test_without_local_data_the_estimate_stored_at_ask_is_used_or_nothing() -> None:
    curve = JobCurve({5: 2.0}, batch_size=4, reached=5, total_steps=20)
    stored = trial(1, job=JobRecord(estimated_tokens=8_000, estimated_cost=0.04))
    assert pruning(stored, curve, None) == Pruned(5, 20, 2.0, 6_000, pytest.approx(0.03))
    assert pruning(trial(1), curve, None) == Pruned(5, 20, 2.0, None, None)
    unknown_length = JobCurve({5: 2.0}, batch_size=4, reached=5)
    assert pruning(stored, unknown_length, None) == Pruned(5, 20, 2.0, None, None)

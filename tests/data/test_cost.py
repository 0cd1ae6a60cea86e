"""Estimates, actual costs, what a sweep has spent, and the budget gate (ftsweep.data.cost)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ftsweep.data.cost import (
    Costing,
    DataSize,
    Spend,
    auto_epochs,
    base_model,
    money,
    over,
    price_of,
)
from ftsweep.errors import PlanError
from ftsweep.study.records import JobRecord, State, TrialRecord
from ftsweep.sweep.load import load_sweep, loads_sweep
from ftsweep.sweep.spec import Budget, Price

SWEEP = """\
name: costed
method: {method}
model: gpt-4.1-mini-2025-04-14
training_file: train.jsonl
validation_file: valid.jsonl
max_trials: 20
space:
  n_epochs: [auto, 1, 2, 4]
{extra}
"""


def sweep(method: str = "supervised", extra: str = "") -> Any:
    return loads_sweep(SWEEP.format(method=method, extra=extra), file="costed.yaml")


MINI = "prices: {gpt-4.1-mini: {per_1m_trained_tokens: 5.0}}"


def costing(extra: str = MINI, method: str = "supervised", tokens: int = 100_000) -> Costing:
    loaded = sweep(method, extra)
    return Costing(loaded, DataSize(examples=50, tokens=tokens), loaded.spec.prices)


def trial(number: int, n_epochs: Any = 2, **fields: Any) -> TrialRecord:
    job = fields.pop("job", JobRecord())
    state = fields.pop("state", State.RUNNING)
    return TrialRecord(
        number, f"costed-{number:04d}", {"n_epochs": n_epochs}, state, job=job, **fields
    )


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (1, 25),
        (3, 25),
        (4, 25),
        (5, 20),
        (10, 10),
        (33, 3),
        (34, 3),
        (100, 3),
        (8_333, 3),
        (8_334, 2),
        (12_500, 2),
        (12_501, 1),
        (30_000, 1),
        (0, 3),
    ],
)
def test_auto_epochs_follow_the_published_rule(examples: int, epochs: int) -> None:
    assert auto_epochs(examples) == epochs


def test_prices_are_found_by_name_base_model_and_snapshot() -> None:
    prices = {
        "gpt-4.1-mini": Price(per_1m_trained_tokens=5.0),
        "gpt-4.1": Price(per_1m_trained_tokens=25.0),
    }
    assert price_of("gpt-4.1-mini-2025-04-14", prices) == prices["gpt-4.1-mini"]
    assert price_of("ft:gpt-4.1-mini-2025-04-14:acme::abc123", prices) == prices["gpt-4.1-mini"]
    assert price_of("gpt-4.1-2025-04-14", prices) == prices["gpt-4.1"]
    assert price_of("gpt-4o-mini-2024-07-18", prices) is None  # never a near miss
    assert base_model("ft:gpt-4o-2024-08-06:org:suffix:id") == "gpt-4o-2024-08-06"


def test_an_estimate_is_epochs_times_the_capped_tokens_at_the_price() -> None:
    made = costing().estimate({"n_epochs": 4})
    assert made is not None
    assert (made.epochs, made.trained_tokens, made.cost) == (4, 400_000, 2.0)
    auto = costing().estimate({"n_epochs": "auto"})
    assert auto is not None and auto.epochs == 3 and auto.trained_tokens == 300_000  # 50 rows


def test_a_resolved_epoch_count_wins_over_the_rule() -> None:
    made = costing().estimate({"n_epochs": "auto"}, {"n_epochs": 7})
    assert made is not None and made.epochs == 7


def test_no_estimate_without_local_data_and_no_cost_without_a_price() -> None:
    loaded = sweep()
    assert Costing(loaded, None, {}).estimate({"n_epochs": 2}) is None
    made = Costing(loaded, DataSize(50, 1_000), {}).estimate({"n_epochs": 2})
    assert made is not None and made.trained_tokens == 2_000 and made.cost is None


def test_actual_cost_comes_from_the_services_trained_tokens() -> None:
    cost = costing().actual({"n_epochs": 2}, JobRecord(trained_tokens=1_234_567))
    assert cost == pytest.approx(6.172835)
    assert costing().actual({"n_epochs": 2}, JobRecord(status="running")) is None


def test_reinforcement_is_priced_by_the_hour() -> None:
    rft = (
        "prices: {gpt-4.1-mini: {per_hour: 100, hours_per_1m_trained_tokens: 0.5}}\n"
        "grader: {type: string_check, name: exact, input: '{{ sample.output_text }}',"
        " reference: '{{ item.answer }}', operation: eq}"
    )
    priced = costing(rft, method="reinforcement")
    made = priced.estimate({"n_epochs": 2})
    assert made is not None and made.cost == pytest.approx(10.0)  # 0.2M tokens, 0.1 h
    job = JobRecord(created_at=1_000, finished_at=1_000 + 5_400)  # 1.5 hours on the service
    assert priced.actual({"n_epochs": 2}, job) == pytest.approx(150.0)


def test_what_a_sweep_spent_counts_actuals_then_estimates() -> None:
    priced = costing()
    trials = [
        trial(0, job=JobRecord(id="a", trained_tokens=300_000), state=State.COMPLETE),
        trial(1, job=JobRecord(id="b", estimated_tokens=400_000, estimated_cost=2.0)),
        trial(2, job=JobRecord(id="c"), state=State.FAIL),  # a cancelled job: its estimate
        trial(3, state=State.FAIL),  # never got a job: nothing
        trial(
            4,
            origin="import",
            job=JobRecord(id="d", trained_tokens=9_000_000),
            state=State.COMPLETE,
        ),  # paid before the sweep
        trial(5, discarded="batch never written"),
    ]
    spent = priced.spent(trials)
    assert spent == Spend(300_000 + 400_000 + 200_000, pytest.approx(1.5 + 2.0 + 1.0))


def test_the_budget_admits_trials_until_the_next_would_go_over() -> None:
    priced = costing(MINI + "\nbudget: {max_cost: 5.0}")
    held = [trial(0, job=JobRecord(id="a", trained_tokens=400_000), state=State.COMPLETE)]  # 2.0
    admitted, why = priced.admit(held, [{"n_epochs": 2}, {"n_epochs": 4}, {"n_epochs": 1}])
    assert [a.cost for a in admitted if a] == [1.0, 2.0]  # 2.0 + 1.0 + 2.0 is 5.0: it fits
    assert why == (
        "budget max_cost (5.00) reached: 5.00 spent or committed, the next trial needs 0.50"
    )
    admitted, why = priced.admit(held, [{"n_epochs": 4}, {"n_epochs": 4}])
    assert len(admitted) == 1
    assert why == (
        "budget max_cost (5.00) reached: 4.00 spent or committed, the next trial needs 2.00"
    )


def test_a_budget_of_tokens_needs_no_price() -> None:
    priced = costing("budget: {max_trained_tokens: 500000}")
    admitted, why = priced.admit([], [{"n_epochs": 2}, {"n_epochs": 2}, {"n_epochs": 2}])
    assert len(admitted) == 2 and why is not None
    assert why.startswith("budget max_trained_tokens (500,000) reached: 400,000 tokens")


def test_a_budget_that_cannot_be_priced_is_refused_not_ignored() -> None:
    no_price = costing("budget: {max_cost: 5.0}")
    with pytest.raises(PlanError, match="max_cost needs a price for model 'gpt-4.1-mini-2025"):
        no_price.admit([], [{"n_epochs": 2}])
    loaded = sweep(extra="budget: {max_trained_tokens: 10}")
    with pytest.raises(PlanError, match="needs the training data as a local file"):
        Costing(loaded, None, {}).admit([], [{"n_epochs": 2}])


def test_over_names_the_limit() -> None:
    budget = Budget(max_cost=1.0, max_trained_tokens=10)
    assert over(budget, Spend(10, 1.0)) is None
    assert over(budget, Spend(11, 0.5)) == "max_trained_tokens (10)"
    assert over(budget, Spend(5, 1.01)) == "max_cost (1.00)"


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged or unwritable cache never stops a command: the file is counted again."""
    from ftsweep.data.sizes import training_size

    train = tmp_path / "train.jsonl"
    train.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", '
        '"content": "hello"}]}\n' * 12
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(method="supervised", extra="").replace("valid.jsonl", "file-v"))
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("FTSWEEP_CACHE_DIR", str(cache))
    first = training_size(load_sweep(path))
    assert first is not None and first.examples == 12
    (entry,) = cache.iterdir()
    entry.write_text("{not json")  # damaged
    assert training_size(load_sweep(path)) == first
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # nothing can be written under it, even by root
    monkeypatch.setenv("FTSWEEP_CACHE_DIR", str(blocked))
    assert training_size(load_sweep(path)) == first


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (1234.5, "1,234.50"),
        (3.0, "3.00"),
        (0.5, "0.50"),
        (0.01859, "0.01859"),
        (0.0000123, "0.0000123"),
        (0, "0.00"),
        (0.999999, "1.00"),
    ],
)
def test_money_keeps_what_a_small_cost_needs(amount: float, text: str) -> None:
    assert money(amount) == text


def test_a_cancelled_job_that_reports_no_tokens_counts_at_its_estimate() -> None:
    """Its times say how long it ran, but only reinforcement is billed by the hour: the money
    a supervised job used is its estimate, and the budget stays priceable."""
    priced = costing(MINI + "\nbudget: {max_cost: 10.0}")
    job = JobRecord(
        id="a",
        status="cancelled",
        created_at=1_000,
        finished_at=4_600,
        estimated_tokens=400_000,
        estimated_cost=2.0,
    )
    assert priced.spent([trial(0, job=job, state=State.FAIL)]) == Spend(400_000, 2.0)


def test_a_pruned_trial_uses_its_estimate_less_what_stopping_it_saved() -> None:
    from ftsweep.study.records import Pruned

    priced = costing(MINI + "\nbudget: {max_cost: 10.0}")
    job = JobRecord(id="a", status="cancelled", estimated_tokens=400_000, estimated_cost=2.0)
    stopped = Pruned(step=25, progress=200, value=2.5, saved_tokens=300_000, saved_cost=1.5)
    pruned = trial(0, job=job, state=State.PRUNED, pruned=stopped)
    assert priced.spent([pruned]) == Spend(100_000, 0.5)
    # Without an estimate of the saving, or on a decision that never took, the whole estimate.
    unknown = Pruned(step=25, progress=200, value=2.5)
    assert priced.spent([trial(0, job=job, state=State.PRUNED, pruned=unknown)]) == Spend(
        400_000, 2.0
    )
    decided = trial(0, job=job, state=State.COMPLETE, pruned=stopped)  # finished first
    assert priced.spent([decided]) == Spend(400_000, 2.0)
    reported = JobRecord(id="a", status="cancelled", trained_tokens=120_000, estimated_tokens=1)
    assert priced.spent([trial(0, job=reported, state=State.PRUNED, pruned=stopped)]) == Spend(
        120_000, 0.6
    )  # what the service says it trained wins

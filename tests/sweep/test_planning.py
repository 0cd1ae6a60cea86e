"""Plans: how many trials, in which order, and the error for a plan that never ends."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ftsweep.errors import PlanError
from ftsweep.study import SweepStudy
from ftsweep.sweep import Plan, Trial, load_sweep, loads_sweep, plan
from ftsweep.sweep.space import configuration_key
from ftsweep.sweep.start import opening, startup_trials
from ftsweep.sweep.strategies import sequence

from .conftest import sweep_yaml

FINITE = sweep_yaml(space="  n_epochs: {low: 1, high: 10}\n  batch_size: [auto, 8]\n")
CONTINUOUS = sweep_yaml("dpo", "  beta: {low: 0.02, high: 2.0, log: true}\n", name="cont")


def test_a_finite_plan_is_the_whole_space() -> None:
    sweep = loads_sweep(FINITE)
    trials = list(plan(sweep))
    assert len(plan(sweep)) == len(trials) == 20
    assert [t.index for t in trials] == list(range(20))
    assert trials[3] == Trial(3, "t-0003", {"n_epochs": 2, "batch_size": 8})


@pytest.mark.parametrize(
    ("rest", "limit", "expected"),
    [
        ("", None, 20),
        ("", 5, 5),
        ("", 0, 0),
        ("", 100, 20),
        ("max_trials: 7\n", None, 7),
        ("max_trials: 7\n", 3, 3),
        ("max_trials: 7\n", 9, 7),
        ("max_trials: 70\n", None, 20),
        ("strategy: random\nmax_trials: 12\n", 50, 12),
        ("strategy: sobol\n", 30, 20),
    ],
)
def test_bounds(rest: str, limit: int | None, expected: int) -> None:
    sweep = loads_sweep(
        sweep_yaml(space="  n_epochs: {low: 1, high: 10}\n  batch_size: [auto, 8]\n", rest=rest)
    )
    planned = plan(sweep, limit)
    assert len(planned) == expected
    assert len(list(planned)) == expected == len(list(planned.bodies()))


def test_an_infinite_space_needs_a_bound() -> None:
    sweep = loads_sweep(CONTINUOUS)
    with pytest.raises(
        PlanError,
        match=r"^<string>: sweep 'cont' has continuous ranges and no max_trials, so its plan never "
        r"ends: give a limit \(ftsweep plan --limit N\) or set max_trials$",
    ):
        plan(sweep)
    assert len(list(plan(sweep, 4))) == 4
    bounded = loads_sweep(CONTINUOUS + "max_trials: 6\n")
    assert len(list(plan(bounded))) == 6


@pytest.mark.parametrize("limit", [-1, 10**23])
def test_a_limit_out_of_range(limit: int) -> None:
    """Past sys.maxsize, islice raised a ValueError traceback from `plan --limit`."""
    rule = rf"^limit must be 0 to 9,223,372,036,854,775,807, got {limit:,}$"
    with pytest.raises(PlanError, match=rule):
        plan(loads_sweep(CONTINUOUS), limit)


def test_adaptive_strategies_plan_their_start_then_random_examples(tmp_path: Path) -> None:
    """The start (baseline, then design points) exactly as `ask` hands it out on a new study,
    then seeded random points as examples (none repeating the start)."""
    text = sweep_yaml(
        "dpo",
        "  beta: {low: 0.02, high: 2.0, log: true, auto: true}\n  batch_size: [auto, 4, 8]\n",
        "seed: 5\nmax_trials: 10\n",
    )
    path = tmp_path / "adaptive.yaml"
    path.write_text(text)
    bayes = load_sweep(path)
    assert bayes.strategy == "bayes"
    planned = plan(bayes)
    assert planned.adaptive
    start = list(opening(bayes))
    assert len(start) == startup_trials(bayes) == 3
    assert start[0] == {"beta": "auto", "batch_size": "auto"}
    params = [t.params for t in planned]
    assert params[:3] == start
    taken = {configuration_key(p) for p in start}
    examples = (
        p for p in sequence(bayes.space, "random", 5, 0) if configuration_key(p) not in taken
    )
    assert params[3:] == list(itertools.islice(examples, 7))
    with SweepStudy(bayes) as study:
        assert [a.params for a in study.ask(3)] == start  # what ask hands out
    for strategy in ("tpe", "gp", "cmaes", "nsga2"):
        other = loads_sweep(text + f"strategy: {strategy}\n")
        assert [t.params for t in plan(other)] == params
    random = loads_sweep(text + "strategy: random\n")
    assert [t.params for t in plan(random)] == list(
        itertools.islice(sequence(bayes.space, "random", 5, 0), 10)
    )
    assert not plan(random).adaptive


def test_the_seed_changes_the_plan() -> None:
    text = sweep_yaml(
        "dpo", "  beta: {low: 0.02, high: 2.0}\n", "strategy: random\nmax_trials: 5\n"
    )
    first = [t.params for t in plan(loads_sweep(text + "seed: 1\n"))]
    assert first == [t.params for t in plan(loads_sweep(text + "seed: 1\n"))]
    assert first != [t.params for t in plan(loads_sweep(text + "seed: 2\n"))]


@pytest.mark.parametrize("strategy", ["grid", "random", "sobol"])
def test_a_plan_from_a_start(strategy: str) -> None:
    sweep = loads_sweep(FINITE + f"strategy: {strategy}\n")
    whole = list(plan(sweep))
    part = Plan(sweep, 5, start=8)
    assert list(part) == whole[8:13]
    assert [t.key for t in part] == [f"t-{i:04d}" for i in range(8, 13)]
    assert list(part.bodies()) == list(plan(sweep).bodies())[8:13]


def test_trials_and_bodies_agree() -> None:
    sweep = loads_sweep(FINITE + "job: {suffix: 'e{n_epochs}'}\n")
    for trial, body in zip(plan(sweep), plan(sweep).bodies(), strict=True):
        assert body["metadata"]["ftsweep_trial"] == trial.key
        assert body["suffix"] == f"e{trial.params['n_epochs']}"
        hyperparameters = body["method"]["supervised"]["hyperparameters"]
        assert hyperparameters == trial.params


def test_a_plan_can_be_read_twice() -> None:
    planned = plan(loads_sweep(CONTINUOUS + "strategy: sobol\n"), 8)
    assert list(planned) == list(planned)

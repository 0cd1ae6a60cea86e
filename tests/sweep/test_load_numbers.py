"""Every number a sweep file carries is checked, at validate time, against the range that every
later step (Optuna, numpy's seeding, grid indexing, a plan's count) can use."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import pytest

from ftsweep.errors import SweepFileError
from ftsweep.sweep import Sweep, plan

from .conftest import line_of, sweep_yaml


def column_of(text: str, line: int, needle: str) -> int:
    return text.splitlines()[line - 1].index(needle) + 1


Load = Callable[..., Sweep]


def refused_with(load: Load, text: str, message: str) -> None:
    with pytest.raises(SweepFileError) as exc:
        load(text)
    (problem,) = exc.value.problems
    assert problem.render() == message


def test_the_sweep_seed_is_at_most_a_job_seed(load: Load) -> None:
    # samplers are seeded with seed + trial number, and numpy takes seeds below 2**32
    text = sweep_yaml(rest="strategy: random\nseed: 4294967296\n")
    line = line_of(text, "seed:")
    refused_with(
        load,
        text,
        f":{line}:1: seed: must be an integer from 0 to 2147483647, as a job's seed"
        " (got 4294967296)",
    )
    assert len(plan(load(sweep_yaml(rest="strategy: random\nseed: 2147483647\n")))) == 2


def test_max_trials_is_bounded(load: Load) -> None:
    text = sweep_yaml(space="  beta: {low: 0.1, high: 2}\n", method="dpo")
    refused_with(
        load,
        text + "max_trials: 100000000000000000000\n",
        f":{line_of(text, 'beta') + 1}:1: max_trials: must be an integer from 1 to 1000000:"
        " more jobs is surely a typo (got 100000000000000000000)",
    )
    assert load(text + "max_trials: 1000000\n").plan_size == 1_000_000


def test_an_unbounded_int_hyperparameter_stops_at_the_apis_largest_integer(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement", "  eval_interval: {low: 1, high: 100000000000000000000000}\n"
    )
    line = line_of(text, "eval_interval")
    refused_with(
        load,
        text,
        f":{line}:{column_of(text, line, 'high')}: space.eval_interval.high:"
        " must be an integer from 1 to 2147483647 (got 100000000000000000000000)",
    )


def test_a_space_too_big_to_index_is_refused(load: Load) -> None:
    space = (
        "  eval_interval: {low: 1, high: 2147483647}\n"
        "  eval_samples: {low: 1, high: 2147483647}\n"
        "  n_epochs: {low: 1, high: 50}\n"
    )
    text = sweep_yaml("reinforcement", space)
    size = 2147483647**2 * 50
    refused_with(
        load,
        text,
        f":{line_of(text, 'space:')}:1: space: has more than {sys.maxsize} configurations, more"
        f" than can be indexed; narrow its ranges (got {size})",
    )


@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("key", ["low", "high"])
def test_range_ends_are_finite(load: Load, key: str, bad: str) -> None:
    ends = {"low": "0.1", "high": "2.0", key: bad}
    text = sweep_yaml("dpo", f"  beta: {{low: {ends['low']}, high: {ends['high']}}}\n")
    with pytest.raises(SweepFileError, match=rf"space\.beta\.{key}: must be a number with 0 <"):
        load(text)


@pytest.mark.parametrize(("bad", "shown"), [(".nan", "nan"), (".inf", "inf")])
def test_a_float_step_is_finite(load: Load, bad: str, shown: str) -> None:
    text = sweep_yaml("dpo", f"  beta: {{low: 0.1, high: 2.0, step: {bad}}}\n")
    line = line_of(text, "beta")
    refused_with(
        load,
        text,
        f":{line}:{column_of(text, line, 'step')}: space.beta.step:"
        f" must be a finite number (got {shown})",
    )


@pytest.mark.parametrize(
    ("range_", "message"),
    [
        ("{low: 1, high: 5, num: 0}", "num: num must be from 1 to 100000 (got 0)"),
        ("{low: 1, high: 5, num: 10000000}", "num: num must be from 1 to 100000 (got 10000000)"),
        ("{low: 1, high: 5, step: 0}", "step: step must be > 0, but got step=0 (got 0)"),
    ],
)
def test_grid_points_of_a_range_are_bounded(load: Load, range_: str, message: str) -> None:
    with pytest.raises(SweepFileError, match=re.escape(f"space.n_epochs.{message}")):
        load(sweep_yaml(space=f"  n_epochs: {range_}\n"))


def test_a_float_grid_of_a_million_million_points_is_lazy(load: Load) -> None:
    space = "".join(
        f"  {name}: {{low: 0.1, high: 1.0, num: 10000}}\n"
        for name in ("learning_rate_multiplier", "beta")
    )
    sweep = load(
        sweep_yaml(
            "dpo",
            space + "  n_epochs: {low: 1, high: 50}\n  batch_size: {low: 1, high: 200}\n",
            "strategy: grid\n",
        )
    )
    assert sweep.space.size == 10_000 * 10_000 * 50 * 200
    assert len(plan(sweep, 3)) == 3

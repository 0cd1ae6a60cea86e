"""Static strategies: seeded, deterministic sequences over the space, in any process."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftsweep.sweep import loads_sweep
from ftsweep.sweep.export import write_plan
from ftsweep.sweep.grid import Grid
from ftsweep.sweep.planning import plan
from ftsweep.sweep.space import Params, Space
from ftsweep.sweep.strategies import ADAPTIVE, STATIC, STRATEGIES, sequence

from .conftest import sweep_yaml

FINITE = loads_sweep(
    sweep_yaml(
        "dpo",
        """\
  - beta: {low: 0.1, high: 0.5, step: 0.1, auto: true}
    batch_size: [auto, 4, 8, 16]
    n_epochs: [1, 2]
  - model: [gpt-a, gpt-b]
    learning_rate_multiplier: {low: 0.5, high: 2, log: true, num: 3}
""",
    )
).space  # 6 * 4 * 2 + 2 * 3 = 54 points

CONTINUOUS = loads_sweep(
    sweep_yaml(
        "reinforcement",
        """\
  compute_multiplier: {low: 0.001, high: 10, log: true, auto: true}
  learning_rate_multiplier: {low: 0.5, high: 2.5}
  batch_size: {low: 1, high: 256, log: true}
  eval_interval: {low: 1, high: 1000, step: 7}
  reasoning_effort: [low, medium, high]
""",
    )
).space

UNION = loads_sweep(
    sweep_yaml(
        "dpo",
        """\
  - beta: {low: 0.1, high: 2}
    n_epochs: [1, 2]
  - learning_rate_multiplier: {low: 0.1, high: 10, log: true}
  - batch_size: [4, 8]
    n_epochs: {low: 1, high: 3}
""",
    )
).space


def key(params: Params) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


def number(params: Params, name: str) -> float:
    value = params[name]
    assert isinstance(value, int | float), value
    return value


def take(space: Space, strategy: str, seed: int, n: int, start: int = 0) -> list[Params]:
    return list(itertools.islice(sequence(space, strategy, seed, start), n))


def test_strategy_names() -> None:
    assert STATIC == ("grid", "random", "sobol")
    assert ADAPTIVE == ("bayes", "tpe", "gp", "cmaes", "nsga2")
    assert STRATEGIES == STATIC + ADAPTIVE


def test_grid_sequence_is_the_grid() -> None:
    assert take(FINITE, "grid", 0, 100) == list(Grid(FINITE))
    assert take(FINITE, "grid", 0, 100, start=50) == list(Grid(FINITE))[50:]


@pytest.mark.parametrize("seed", [0, 1, 2, 12345])
def test_random_on_a_finite_space_covers_it_exactly_once(seed: int) -> None:
    points = take(FINITE, "random", seed, 1000)
    assert len(points) == FINITE.size == 54
    assert len({key(p) for p in points}) == 54
    assert sorted(map(key, points)) == sorted(map(key, Grid(FINITE)))
    assert points != list(Grid(FINITE))


@pytest.mark.parametrize("seed", [0, 3])
def test_sobol_on_a_finite_space_covers_it_exactly_once(seed: int) -> None:
    points = take(FINITE, "sobol", seed, 1000)
    assert len(points) == 54
    assert sorted(map(key, points)) == sorted(map(key, Grid(FINITE)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(1, 40), start=st.integers(0, 30))
def test_random_never_repeats_and_resumes(seed: int, n: int, start: int) -> None:
    points = take(FINITE, "random", seed, n, start)
    assert len({key(p) for p in points}) == len(points) == min(n, 54 - start)
    assert points == take(FINITE, "random", seed, start + n)[start:]


@pytest.mark.parametrize("strategy", ["random", "sobol"])
def test_deterministic_in_the_seed(strategy: str) -> None:
    for space in (FINITE, CONTINUOUS, UNION):
        first = take(space, strategy, 7, 40)
        assert first == take(space, strategy, 7, 40)
        assert first != take(space, strategy, 8, 40)
        assert take(space, strategy, 7, 10, start=30) == first[30:40]


@pytest.mark.parametrize("strategy", ["random", "sobol"])
@pytest.mark.parametrize(
    "space", [FINITE, CONTINUOUS, UNION], ids=["finite", "continuous", "union"]
)
def test_samples_stay_in_the_space(strategy: str, space: Space) -> None:
    for params in take(space, strategy, 11, 300):
        assert space.contains(params), params


def test_continuous_samples_within_bounds() -> None:
    points = take(CONTINUOUS, "random", 5, 500) + take(CONTINUOUS, "sobol", 5, 512)
    cm = [number(p, "compute_multiplier") for p in points if p["compute_multiplier"] != "auto"]
    lr = [number(p, "learning_rate_multiplier") for p in points]
    assert all(0.001 <= x <= 10 for x in cm) and all(0.5 <= x <= 2.5 for x in lr)
    assert all(1 <= number(p, "batch_size") <= 256 for p in points)
    assert all(number(p, "eval_interval") % 7 == 1 for p in points)
    assert all(type(p["batch_size"]) is int and type(p["eval_interval"]) is int for p in points)
    assert any(p["compute_multiplier"] == "auto" for p in points)
    assert min(cm) < 0.01 and max(cm) > 1  # log-spread across the decades
    assert len(set(lr)) > 900  # continuous values do not repeat
    assert {p["reasoning_effort"] for p in points} == {"low", "medium", "high"}


@pytest.mark.parametrize("strategy", ["random", "sobol"])
def test_unions_are_sampled_from_every_subspace(strategy: str) -> None:
    points = take(UNION, strategy, 2, 300)
    hits = [sum(sub.contains(p) for p in points) for sub in UNION.subspaces]
    assert all(h > 50 for h in hits), hits
    assert sum(hits) == 300


def test_sobol_is_evenly_spread() -> None:
    points = take(CONTINUOUS, "sobol", 0, 256)
    lr = sorted(number(p, "learning_rate_multiplier") for p in points)
    # 256 Sobol points fill each of 16 equal bins of [0.5, 2.5] with exactly 16 points
    bins = [sum(0.5 + 2 * i / 16 <= x < 0.5 + 2 * (i + 1) / 16 for x in lr) for i in range(16)]
    assert bins == [16] * 16


# --- the same file and seed give the same plan in another process ---------------------------

FILES = {
    "random": sweep_yaml(
        "dpo",
        "  beta: {low: 0.02, high: 2.0, log: true}\n  batch_size: [auto, 4, 8]\n"
        "  n_epochs: {low: 1, high: 5}\n",
        "strategy: random\nmax_trials: 40\nseed: 17\njob: {suffix: 'b{beta}-{trial}'}\n",
    ),
    "random-finite": sweep_yaml(
        "supervised",
        "  learning_rate_multiplier: {low: 0.1, high: 10, log: true, num: 50}\n"
        "  n_epochs: {low: 1, high: 20}\n",
        "strategy: random\nmax_trials: 40\nseed: 17\n",
    ),
    "sobol": sweep_yaml(
        "dpo",
        "  - beta: {low: 0.02, high: 2.0, log: true}\n    n_epochs: [1, 2]\n"
        "  - learning_rate_multiplier: {low: 0.1, high: 4, auto: true}\n",
        "strategy: sobol\nmax_trials: 40\nseed: 17\n",
    ),
    "tpe": sweep_yaml(
        "dpo",
        "  beta: {low: 0.02, high: 2.0, log: true}\n",
        "strategy: tpe\nmax_trials: 40\nseed: 17\n",
    ),
}

SCRIPT = """
import sys
from ftsweep.sweep import load_sweep, plan
from ftsweep.sweep.export import write_plan
write_plan(plan(load_sweep(sys.argv[1])), "jsonl", sys.stdout.buffer)
"""


@pytest.mark.parametrize("name", sorted(FILES))
def test_same_file_and_seed_same_plan_in_another_process(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(FILES[name], encoding="utf-8")
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(path)], capture_output=True, env=env, check=True
        )
        outputs.append(done.stdout)
    here = tmp_path / "here.jsonl"
    with here.open("wb") as stream:
        assert write_plan(plan(loads_sweep(FILES[name])), "jsonl", stream) == 40
    assert outputs[0] == outputs[1] == here.read_bytes()
    assert outputs[0].count(b"\n") == 40

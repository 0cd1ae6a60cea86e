"""The adaptive strategies' samplers (`ftsweep.study.store.samplers`), and asking through them.

pytest turns warnings into errors, so these also check that no Optuna warning (experimental
features, independent sampling) leaks out of ftsweep's code paths.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import optuna
import pytest

from ftsweep.errors import StudyError
from ftsweep.study import tell
from ftsweep.study.store.samplers import make_sampler
from tests.study.test_study import make_study, result, sweep_text

CONTINUOUS = (
    "  learning_rate_multiplier: {low: 0.1, high: 4, log: true, auto: true}\n"
    "  n_epochs: {low: 1, high: 10}\n"
    "  batch_size: [auto, 4, 8, 16]\n"
)
UNION = (
    "  - {batch_size: [2, 4], n_epochs: {low: 1, high: 3}}\n"
    "  - {batch_size: {low: 16, high: 64, auto: true},"
    " learning_rate_multiplier: {low: 0.5, high: 2}}\n"
)
TWO = "objective:\n  - {metric: full_valid_loss}\n  - {metric: trained_tokens}\n"


@pytest.mark.parametrize(
    ("strategy", "kind"),
    [
        ("tpe", optuna.samplers.TPESampler),
        ("nsga2", optuna.samplers.NSGAIISampler),
        ("cmaes", optuna.samplers.CmaEsSampler),
        ("random", optuna.samplers.RandomSampler),
    ],
)
def test_each_strategy_has_its_sampler(strategy: str, kind: type) -> None:
    assert isinstance(make_sampler(strategy, 3), kind)


def test_a_static_strategy_has_no_sampler() -> None:
    with pytest.raises(StudyError, match="^strategy 'grid' has no Optuna sampler$"):
        make_sampler("grid", 0)


def test_gp_needs_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_torch(name: str, *args: Any) -> Any:
        return None if name == "torch" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_torch)
    with pytest.raises(StudyError, match="^strategy 'gp' needs the 'torch' package: pip install"):
        make_sampler("gp", 0)


def _ask_tell_ask(tmp_path: Path, strategy: str, space: str, extra: str = "") -> list[Any]:
    study = make_study(tmp_path, sweep_text(strategy=strategy, space=space, extra=extra))
    first = study.ask(4)
    metrics = [o.metric for o in study.sweep.objectives]
    tell(
        study,
        [
            result(trial=a.number, values={m: 1.0 + a.number + i for i, m in enumerate(metrics)})
            for a in first
        ],
    )
    second = study.ask(4)
    asked = first + second
    assert len(asked) == 8
    assert all(study.sweep.space.contains(a.params) for a in asked)
    assert len({json.dumps(a.params, sort_keys=True) for a in asked}) == 8
    assert len({a.number for a in asked}) == 8
    return asked


@pytest.mark.parametrize("strategy", ["tpe", "cmaes", "nsga2"])
@pytest.mark.parametrize("space", [CONTINUOUS, UNION], ids=["continuous", "union"])
def test_adaptive_strategies_ask_after_results(tmp_path: Path, strategy: str, space: str) -> None:
    _ask_tell_ask(tmp_path, strategy, space)


@pytest.mark.parametrize("strategy", ["tpe", "nsga2"])
def test_multi_objective_adaptive_strategies(tmp_path: Path, strategy: str) -> None:
    _ask_tell_ask(tmp_path, strategy, CONTINUOUS, extra=TWO)


def test_tpe_learns_from_told_results(tmp_path: Path) -> None:
    """After results that favour small learning rates, TPE proposes smaller ones than its start."""
    space = "  learning_rate_multiplier: {low: 0.01, high: 10, log: true}\n  n_epochs: [1, 2]\n"
    study = make_study(tmp_path, sweep_text(strategy="tpe", space=space))
    start = study.ask(12)  # TPE's random start (n_startup_trials is 10)
    tell(
        study,
        [
            result(trial=a.number, values={"full_valid_loss": a.params["learning_rate_multiplier"]})
            for a in start
        ],
    )
    learned = study.ask(6)

    def median(asked: list[Any]) -> float:
        values = sorted(a.params["learning_rate_multiplier"] for a in asked)
        return float(values[len(values) // 2])

    assert median(learned) < median(start) / 3

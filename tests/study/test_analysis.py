"""The best trial, the Pareto front and parameter importances (`ftsweep.study.analysis`)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ftsweep.errors import StudyError
from ftsweep.study import SweepStudy, best_records, importances, tell

from .test_study import make_study, result, sweep_text

SPACE = "  n_epochs: [1, 2, 3]\n  batch_size: [auto, 4, 8]\n"
TWO = "objective:\n  - {metric: full_valid_loss}\n  - {metric: full_valid_mean_token_accuracy}\n"


def told(tmp_path: Path, values: list[float | tuple[float, ...]], extra: str = "") -> SweepStudy:
    """A grid sweep with one completed trial per value (a tuple for several objectives)."""
    study = make_study(tmp_path, sweep_text(space=SPACE, extra=extra))
    study.ask(len(values))
    metrics = [o.metric for o in study.sweep.objectives]
    rows = []
    for number, value in enumerate(values):
        numbers = value if isinstance(value, tuple) else (value,)
        rows.append(result(trial=number, values=dict(zip(metrics, numbers, strict=True))))
    tell(study, rows)
    return study


def keys(records: list[dict[str, object]]) -> list[object]:
    return [r["key"] for r in records]


def test_best_of_a_minimized_objective(tmp_path: Path) -> None:
    study = told(tmp_path, [0.5, 0.3, 0.4])
    (best,) = best_records(study)
    assert (best["key"], best["full_valid_loss"]) == ("s-0001", 0.3)


def test_best_of_a_maximized_objective(tmp_path: Path) -> None:
    study = told(
        tmp_path, [0.5, 0.9, 0.4], extra="objective: {metric: valid_mean_token_accuracy}\n"
    )
    assert keys(best_records(study)) == ["s-0001"]


def test_best_ignores_unfinished_failed_and_replaced_trials(tmp_path: Path) -> None:
    study = told(tmp_path, [0.1, 0.5])
    study.ask(2)
    tell(study, [result(trial=2, status="failed", error="boom")])
    tell(study, [result(trial=0, values={"full_valid_loss": 0.9})], force=True)
    (best,) = best_records(study)
    assert (best["key"], best["full_valid_loss"]) == ("s-0001", 0.5)


def test_the_pareto_front_is_exactly_the_non_dominated_trials(tmp_path: Path) -> None:
    values: list[float | tuple[float, ...]] = [
        (0.3, 0.7),  # s-0000: on the front
        (0.4, 0.9),  # s-0001: on the front (best accuracy)
        (0.5, 0.6),  # s-0002: dominated by s-0000
        (0.3, 0.7),  # s-0003: equal to s-0000, so neither dominates the other
        (0.2, 0.5),  # s-0004: on the front (best loss)
        (0.4, 0.7),  # s-0005: dominated by s-0000 (worse loss, same accuracy)
    ]
    study = told(tmp_path, values, extra=TWO)
    assert keys(best_records(study)) == ["s-0000", "s-0001", "s-0003", "s-0004"]


def test_no_completed_trial_has_no_best(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(2)
    tell(study, [result(trial=0, status="failed")])
    with pytest.raises(
        StudyError, match="^sweep 's' has no completed trial yet: tell results first$"
    ):
        best_records(study)


def test_importances_per_objective(tmp_path: Path) -> None:
    values: list[float | tuple[float, ...]] = [
        (0.1 * n + 0.01 * b, 0.5 + 0.01 * n) for n in range(3) for b in range(3)
    ]
    study = told(tmp_path, values, extra=TWO)
    found = importances(study)
    assert list(found) == ["full_valid_loss", "full_valid_mean_token_accuracy"]
    for metric, by_param in found.items():
        assert set(by_param) == {"n_epochs", "batch_size"}, metric
        assert math.isclose(sum(by_param.values()), 1.0), metric


def test_importances_find_the_parameter_that_matters(tmp_path: Path) -> None:
    space = "  n_epochs: {low: 1, high: 10}\n  learning_rate_multiplier: {low: 0.1, high: 4}\n"
    study = make_study(tmp_path, sweep_text(strategy="random", space=space))
    asked = study.ask(20)
    tell(
        study,
        [
            result(
                trial=a.number,
                values={
                    "full_valid_loss": a.params["n_epochs"]
                    + 0.01 * a.params["learning_rate_multiplier"]
                },
            )
            for a in asked
        ],
    )
    found = importances(study)
    assert (
        found["full_valid_loss"]["n_epochs"] > found["full_valid_loss"]["learning_rate_multiplier"]
    )
    assert importances(study) == found  # seeded: the same study gives the same numbers


def test_importances_of_one_objective(tmp_path: Path) -> None:
    study = told(tmp_path, [0.1, 0.2, 0.9, 1.0, 1.5, 1.6])
    found = importances(study)
    assert list(found) == ["full_valid_loss"]
    assert set(found["full_valid_loss"]) == {"n_epochs", "batch_size"}


def test_importances_need_two_completed_trials(tmp_path: Path) -> None:
    study = told(tmp_path, [0.1])
    with pytest.raises(
        StudyError,
        match=r"^sweep 's' has 1 completed trial\(s\): importances need at least two$",
    ):
        importances(study)

"""The best trial (or the Pareto front of a multi-objective sweep) and parameter importances."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from ftsweep.errors import StudyError
from ftsweep.study.frame import Records, sweep_trials, trial_records
from ftsweep.study.sweep_study import SweepStudy

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["Importances", "best_records", "importances"]


class Importances(dict[str, dict[str, float]]):
    """Each objective metric's parameter importances; `not_shown` numbers the trials left out
    because they stand for no configuration of the sweep (plain Optuna added them)."""

    def __init__(self, found: dict[str, dict[str, float]], not_shown: list[int]) -> None:
        super().__init__(found)
        self.not_shown = not_shown


def _complete(study: SweepStudy) -> tuple[list[FrozenTrial], list[int]]:
    """The sweep's complete trials, and the numbers of the trials that are not the sweep's."""
    from optuna.trial import TrialState

    found, foreign = sweep_trials(study)
    return [t for t, _ in found if t.state == TrialState.COMPLETE], foreign


def _signed(study: SweepStudy, trial: FrozenTrial) -> tuple[float, ...]:
    """The trial's values, negated where larger is better, so that smaller is always better."""
    signs = [1.0 if o.direction == "minimize" else -1.0 for o in study.sweep.objectives]
    return tuple(s * v for s, v in zip(signs, trial.values, strict=True))


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def best_records(study: SweepStudy) -> Records:
    """The best finished trial, or for several objectives every trial on the Pareto front."""
    complete, foreign = _complete(study)
    if not complete:
        raise StudyError(f"sweep {study.name!r} has no completed trial yet: tell results first")
    scored = [(trial, _signed(study, trial)) for trial in complete]
    if len(study.sweep.objectives) == 1:
        front = [min(scored, key=lambda pair: pair[1])[0]]
    else:
        front = [t for t, s in scored if not any(_dominates(o, s) for _, o in scored)]
    numbers = {t.number for t in front}
    return Records((r for r in trial_records(study) if r["number"] in numbers), foreign)


def importances(study: SweepStudy) -> Importances:
    """Optuna's parameter importances, per objective metric (Optuna's parameter names)."""
    import optuna

    complete, foreign = _complete(study)
    if len(complete) < 2:
        raise StudyError(
            f"sweep {study.name!r} has {len(complete)} completed trial(s): importances need at "
            "least two"
        )
    directions = [o.direction or "minimize" for o in study.sweep.objectives]
    scratch = optuna.create_study(directions=directions)
    scratch.add_trials(complete)
    out: dict[str, dict[str, float]] = {}
    for index, objective in enumerate(study.sweep.objectives):
        out[objective.metric] = _importance(scratch, index, len(directions) > 1)
    return Importances(out, foreign)


def _importance(study: Any, index: int, multi: bool) -> dict[str, float]:
    import optuna

    def target(trial: FrozenTrial) -> float:
        return float(trial.values[index])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = optuna.importance.get_param_importances(study, target=target if multi else None)
        except (ValueError, RuntimeError) as exc:
            raise StudyError(f"importances cannot be computed yet: {exc}") from None
    return {name: float(value) for name, value in found.items()}

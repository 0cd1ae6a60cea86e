"""The best trial (or the Pareto front of a multi-objective sweep) and parameter importances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ftsweep.errors import StudyError
from ftsweep.study.records import State, TrialRecord
from ftsweep.study.table import Records, records_of, sweep_trials

if TYPE_CHECKING:
    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.load import Sweep

__all__ = ["Importances", "best_of", "best_records", "importances"]


class Importances(dict[str, dict[str, float]]):
    """Each objective metric's parameter importances; `not_shown` numbers the trials left out
    because they stand for no configuration of the sweep (plain Optuna added them)."""

    def __init__(self, found: dict[str, dict[str, float]], not_shown: list[int]) -> None:
        super().__init__(found)
        self.not_shown = not_shown


def _complete(trials: Sequence[TrialRecord]) -> tuple[list[TrialRecord], list[int]]:
    """The sweep's complete trials, and the numbers of the trials that are not the sweep's."""
    found, foreign = sweep_trials(trials)
    return [t for t, _ in found if t.state == State.COMPLETE], foreign


def _signed(sweep: Sweep, trial: TrialRecord) -> tuple[float, ...]:
    """The trial's values, negated where larger is better, so that smaller is always better."""
    assert trial.values is not None
    signs = [1.0 if o.direction == "minimize" else -1.0 for o in sweep.objectives]
    return tuple(s * v for s, v in zip(signs, trial.values, strict=True))


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def best_of(sweep: Sweep, trials: Sequence[TrialRecord]) -> Records:
    """The best complete trial, or for several objectives every trial on the Pareto front."""
    complete, foreign = _complete(trials)
    if not complete:
        raise StudyError(f"sweep {sweep.name!r} has no completed trial yet: tell results first")
    scored = [(trial, _signed(sweep, trial)) for trial in complete]
    if len(sweep.objectives) == 1:
        front = [min(scored, key=lambda pair: pair[1])[0]]
    else:
        front = [t for t, s in scored if not any(_dominates(o, s) for _, o in scored)]
    numbers = {t.number for t in front}
    records = records_of(sweep, trials)
    return Records((r for r in records if r["number"] in numbers), foreign)


def best_records(study: SweepStudy) -> Records:
    """`best_of` the study's trials."""
    return best_of(study.sweep, study.trials())


def importances(study: SweepStudy) -> Importances:
    """Optuna's parameter importances, per objective metric (Optuna's parameter names)."""
    from ftsweep.study.store.importance import param_importances

    complete, foreign = _complete(study.trials())
    if len(complete) < 2:
        raise StudyError(
            f"sweep {study.name!r} has {len(complete)} completed trial(s): importances need at "
            "least two"
        )
    return Importances(param_importances(study.store, complete), foreign)

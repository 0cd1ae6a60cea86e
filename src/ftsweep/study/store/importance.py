"""Optuna's parameter importances over a sweep's complete trials."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ftsweep.errors import StudyError

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from ftsweep.study.records import TrialRecord
    from ftsweep.study.store.trial_store import TrialStore

__all__ = ["param_importances"]


def param_importances(
    store: TrialStore, complete: Sequence[TrialRecord]
) -> dict[str, dict[str, float]]:
    """Each objective metric's importances (by Optuna parameter), from the last load's trials."""
    from ftsweep.study.store.samplers import scratch_study

    objectives = store.sweep.objectives
    scratch = scratch_study(store.sweep)
    scratch.add_trials(store.optuna_trials(complete))
    multi = len(objectives) > 1
    return {o.metric: _importance(scratch, i, multi) for i, o in enumerate(objectives)}


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

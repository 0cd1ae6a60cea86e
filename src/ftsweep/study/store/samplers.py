"""Optuna samplers for the adaptive strategies, and the proposals they make for a batch."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ftsweep.errors import StudyError
from ftsweep.sweep.dimensions import Dimension, FloatRange, Value
from ftsweep.sweep.space import ConfigKey, Params, Space, configuration_key
from ftsweep.sweep.strategies import sequence

if TYPE_CHECKING:
    import optuna
    from optuna.samplers import BaseSampler
    from optuna.trial import FrozenTrial

    from ftsweep.study.records import TrialRecord
    from ftsweep.study.store.trial_store import TrialStore
    from ftsweep.sweep.load import Sweep

__all__ = ["DIGITS", "Proposer", "make_sampler", "rounded", "scratch_study"]

DIGITS = 3  # significant digits of a float an adaptive sampler chooses: 1.44, 0.0284
_PROPOSALS = 10  # tries the sampler gets to propose an unseen configuration
_FALLBACK_POINTS = 100_000  # points of the seeded sequence searched for an unseen one after that


def make_sampler(strategy: str, seed: int) -> BaseSampler:
    """The sampler of an adaptive strategy, seeded (a new seed per batch keeps batches apart)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if strategy == "tpe":
            # group: conditional spaces (unions, auto ranges); constant liar: running trials
            # count as mediocre, so concurrent workers and a batch's trials spread out.
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, group=True, constant_liar=True
            )
        if strategy == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if strategy == "cmaes":
            _require("cmaes", "cmaes")
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if strategy == "gp":
            _require("torch", "gp")
            return optuna.samplers.GPSampler(seed=seed)
        if strategy == "random":
            return optuna.samplers.RandomSampler(seed=seed)
    raise StudyError(f"strategy {strategy!r} has no Optuna sampler")


def scratch_study(sweep: Sweep, sampler: BaseSampler | None = None) -> optuna.Study:
    """An in-memory study with the sweep's directions, for a sampler or Optuna's tools to learn
    from its trials; made quietly (Optuna logs every study it creates)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = [o.direction or "minimize" for o in sweep.objectives]
    return optuna.create_study(directions=directions, sampler=sampler)


def _require(module: str, strategy: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise StudyError(
            f"strategy {strategy!r} needs the {module!r} package: pip install {module}"
        )


class Proposer:
    """Proposals of an adaptive strategy's sampler, learnt from the sweep's live trials.

    The sampler asks an in-memory copy of the study, so that only distinct proposals become
    trials of the real one: a duplicate costs no trial number. After `_PROPOSALS` duplicates in
    a row, the first unseen point of the seeded random sequence is taken instead.
    """

    def __init__(
        self,
        store: TrialStore,
        live: Sequence[TrialRecord],
        seed: int,
        sampler: Callable[[int], BaseSampler] | None = None,
    ) -> None:
        sweep = store.sweep
        self.sweep, self.encoding = sweep, store.encoding
        made = sampler(seed) if sampler is not None else make_sampler(sweep.strategy, seed)
        self._scratch = scratch_study(sweep, made)
        self._scratch.add_trials(store.optuna_trials(live))

    def propose(self, seen: set[ConfigKey]) -> tuple[Params, dict[str, Any]] | None:
        """An unseen configuration, rounded as bodies show it, and the system attributes the
        sampler keeps its state in (CMA-ES, NSGA-II); None when none is left to find."""
        from optuna.trial import TrialState

        for _ in range(_PROPOSALS):
            trial = self._scratch.ask()
            params = rounded(self.sweep.space, self.encoding.suggest(trial))
            if configuration_key(params) not in seen:
                frozen = self._scratch.get_trials(deepcopy=False)[trial.number]
                return params, dict(frozen.system_attrs)
            self._scratch.tell(trial, state=TrialState.FAIL)
        points = sequence(self.sweep.space, "random", self.sweep.spec.seed)
        for params in itertools.islice(points, _FALLBACK_POINTS):
            if configuration_key(params) not in seen:
                self._scratch.add_trial(self._running(params))
                return params, {}
        return None

    def _running(self, params: Params) -> FrozenTrial:
        from optuna.trial import TrialState, create_trial

        encoded = self.encoding.encode(params)
        distributions = self.encoding.distributions()
        return create_trial(
            state=TrialState.RUNNING,
            params=encoded,
            distributions={k: distributions[k] for k in encoded},
        )


def rounded(space: Space, params: Params) -> Params:
    """A sampler's continuous floats to `DIGITS` significant digits, as bodies show them."""
    for sub in space.subspaces:
        if sub.contains(params):
            dims = sub.dimensions
            return {name: _round(dims[name], value) for name, value in params.items()}
    return params


def _round(dimension: Dimension, value: Value) -> Value:
    if isinstance(dimension, FloatRange) and dimension.points is None and isinstance(value, float):
        return dimension.rounded(value, DIGITS)
    return value

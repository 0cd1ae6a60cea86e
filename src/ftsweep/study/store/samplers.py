"""Optuna samplers for the adaptive strategies, and the proposals they make for a batch."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ftsweep.errors import StudyError
from ftsweep.study.bayes import Bayes
from ftsweep.study.warm import warm_trials
from ftsweep.sweep.space import ConfigKey, Params, configuration_key
from ftsweep.sweep.spec import Search
from ftsweep.sweep.start import DIGITS, baseline, design, rounded, startup_trials
from ftsweep.sweep.strategies import sequence

if TYPE_CHECKING:
    import optuna
    from optuna.samplers import BaseSampler
    from optuna.trial import FrozenTrial

    from ftsweep.study.records import TrialRecord
    from ftsweep.study.store.trial_store import TrialStore
    from ftsweep.sweep.load import Sweep

__all__ = ["DIGITS", "Proposer", "make_sampler", "rounded", "scratch_study"]

_PROPOSALS = 10  # tries the sampler gets to propose an unseen configuration
_FALLBACK_POINTS = 100_000  # points of the seeded sequence searched for an unseen one after that
#: Every this many trials of a `bayes` sweep, one is the next design point instead of the model's:
#: a model that saw a flat surface is sure of it, and would never find a narrow optimum.
_EXPLORE_EVERY = 4
_CANDIDATES = 24  # TPE's candidates per proposal (Optuna's n_ei_candidates) unless the file says


def make_sampler(strategy: str, seed: int, search: Search | None = None) -> BaseSampler:
    """The sampler of an adaptive strategy, seeded (a new seed per batch keeps batches apart).
    ftsweep's own start (`ftsweep.sweep.start`) explores first, so the samplers' random
    start-up is off where they have one."""
    import optuna

    search = search or Search()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if strategy in ("tpe", "bayes"):  # bayes: for what its model does not cover
            # group: conditional spaces (unions, auto ranges); constant liar: running trials
            # count as mediocre, so concurrent workers and a batch's trials spread out.
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=0,
                n_ei_candidates=search.candidates or _CANDIDATES,
                multivariate=True,
                group=True,
                constant_liar=True,
            )
        if strategy == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if strategy == "cmaes":
            _require("cmaes", "cmaes")
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if strategy == "gp":
            _require("torch", "gp")
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=0)
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
    """Proposals of an adaptive strategy, learnt from the sweep's live trials.

    While the study holds fewer trials than the start-up needs, the proposals are the baseline
    and the design points of `ftsweep.sweep.start`; then the sampler's. The sampler asks an
    in-memory copy of the study, so that only distinct proposals become trials of the real one:
    a duplicate costs no trial number. After `_PROPOSALS` duplicates in a row, the first unseen
    point of the seeded random sequence is taken instead. Every proposal joins the copy as a
    running trial, so the next one of the batch keeps away from it (constant liar).

    `sampler` (a seed to a sampler) replaces the strategy's sampler and ftsweep's start-up: plain
    Optuna, for comparisons.
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
        search = sweep.spec.search
        self._store, self._live = store, live
        # made now, so a strategy whose package is missing fails before anything is proposed
        self._sampler = (
            sampler(seed) if sampler is not None else make_sampler(sweep.strategy, seed, search)
        )
        self._joining: list[FrozenTrial] = []  # trials the sampler's copy takes when it is made
        self._exploring = 0
        self._start: Iterator[Params] = iter(())
        self._bayes: Bayes | None = None
        self._asked = len(live)
        if sampler is None:
            warm = warm_trials(store)
            self._joining += warm
            start = startup_trials(sweep)
            self._exploring = max(0, start - len(live) - len(warm))
            first = [p for p in [baseline(sweep.space)] if p is not None and search.baseline]
            # One design for the whole start, whichever asks hand it out (a Latin hypercube is
            # stratified only as a whole); the points already tried are skipped.
            points = design(sweep.space, search.design, sweep.spec.seed, start)
            self._start = itertools.chain(first, points)
            if sweep.strategy == "bayes" and len(sweep.objectives) == 1:
                told = [(t.params, t.values[0]) for t in warm if t.values]
                self._bayes = Bayes(sweep, self.encoding, live, told, seed)

    def propose(self, seen: set[ConfigKey]) -> tuple[Params, dict[str, Any]] | None:
        """An unseen configuration, rounded as bodies show it, and the system attributes the
        sampler keeps its state in (CMA-ES, NSGA-II); None when none is left to find."""
        self._asked += 1
        if self._bayes is not None and self._asked % _EXPLORE_EVERY == 0 and not self._closing:
            self._exploring = max(self._exploring, 1)  # a needle the model is sure is not there
        if self._bayes is not None and self._exploring <= 0:
            chosen = self._bayes.propose(seen)
            if chosen is not None:
                return self._taken(chosen)
            self._exploring = 1  # too little told to learn from: explore on
        if self._exploring > 0:
            self._exploring -= 1
            explored = self._first_unseen(self._start, seen)
            if explored is not None:
                return self._taken(explored)
        proposal = self._sampled(seen)
        if proposal is not None:
            return proposal
        points = sequence(self.sweep.space, "random", self.sweep.spec.seed)
        fallback = self._first_unseen(points, seen)
        return None if fallback is None else self._taken(fallback)

    @cached_property
    def _scratch(self) -> optuna.Study:
        """The sampler's in-memory copy of the study, made when a proposal first needs the
        sampler (the `bayes` model and the start do not: copying a large study into Optuna
        costs more than they do)."""
        scratch = scratch_study(self.sweep, self._sampler)
        scratch.add_trials(self._store.optuna_trials(self._live))
        scratch.add_trials(self._joining)
        return scratch

    @property
    def _closing(self) -> bool:
        """In the last third of `max_trials`, only the best guesses are worth a job."""
        limit = self.sweep.spec.max_trials
        return limit is not None and self._asked > limit * 2 / 3

    def _sampled(self, seen: set[ConfigKey]) -> tuple[Params, dict[str, Any]] | None:
        """The sampler's proposal, unless it makes `_PROPOSALS` duplicates in a row."""
        from optuna.trial import TrialState

        for _ in range(_PROPOSALS):
            trial = self._scratch.ask()
            params = rounded(self.sweep.space, self.encoding.suggest(trial))
            if configuration_key(params) not in seen:
                frozen = self._scratch.get_trials(deepcopy=False)[trial.number]
                return params, dict(frozen.system_attrs)
            self._scratch.tell(trial, state=TrialState.FAIL)
        return None

    def _first_unseen(self, points: Iterator[Params], seen: set[ConfigKey]) -> Params | None:
        for params in itertools.islice(points, _FALLBACK_POINTS):
            params = rounded(self.sweep.space, params)
            if configuration_key(params) not in seen:
                return params
        return None

    def _taken(self, params: Params) -> tuple[Params, dict[str, Any]]:
        """A proposal made here: the sampler's copy holds it running from now on."""
        if "_scratch" in self.__dict__:
            self._scratch.add_trial(self._running(params))
        else:
            self._joining.append(self._running(params))
        return params, {}

    def _running(self, params: Params) -> FrozenTrial:
        from optuna.trial import TrialState, create_trial

        encoded = self.encoding.encode(params)
        distributions = self.encoding.distributions()
        return create_trial(
            state=TrialState.RUNNING,
            params=encoded,
            distributions={k: distributions[k] for k in encoded},
        )

"""A sweep's Optuna study: created on first use, checked against the sweep, asked for trials.

Every trial a sweep hands out is an Optuna trial: static strategies (grid, random, sobol) store
the next unused points of their seeded sequence, adaptive ones (tpe, gp, cmaes, nsga2) ask the
study's sampler. Handing out happens under the storage's lock (a file lock, or a PostgreSQL
advisory lock), so concurrent workers never receive the same trial or the same point.

Trial attributes ftsweep keeps (system attributes, `ftsweep:` prefixed):
`position` (the point's place in a static sequence), `discarded` (why a trial is not part of the
sweep: a duplicate proposal, a batch that was never written), `origin` (`import`) and
`supersedes` (the trial a forced result replaced).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ftsweep._bulk import bulk
from ftsweep.errors import StudyError
from ftsweep.study.encoding import Encoding
from ftsweep.study.storage import StorageLocation, resolve_storage
from ftsweep.study.writes import TrialWrites
from ftsweep.sweep.jobs import JobRenderer
from ftsweep.sweep.strategies import STATIC, sequence

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params

__all__ = ["AskedTrial", "SweepStudy", "config_key", "counts", "job_info", "original_number"]

POSITION = "ftsweep:position"
DISCARDED = "ftsweep:discarded"
ORIGIN = "ftsweep:origin"
SUPERSEDES = "ftsweep:supersedes"
JOB = "ftsweep"  # the user attribute holding a trial's job: id, status, tokens, error, resolved
STUDY_SPACE = "ftsweep:distributions"
STUDY_OBJECTIVES = "ftsweep:objectives"
_PROPOSALS = 10  # tries an adaptive sampler gets to propose an unseen configuration


@dataclass(frozen=True)
class AskedTrial:
    """A trial handed out: its number, stable key, hyperparameters and job request body."""

    number: int
    key: str
    params: Params
    body: dict[str, Any]


def config_key(params: Params) -> str:
    """A canonical text of a configuration, equal for equal configurations."""
    return json.dumps(params, sort_keys=True)


class SweepStudy:
    """The Optuna study of one sweep, in the storage `storage` names (or the default)."""

    def __init__(self, sweep: Sweep, storage: str | None = None) -> None:
        self.sweep = sweep
        self.location: StorageLocation = resolve_storage(sweep.file, storage)
        self.encoding = Encoding(sweep.space)
        self.renderer = JobRenderer(sweep)

    @cached_property
    def storage(self) -> Any:
        return self.location.open()

    @property
    def name(self) -> str:
        return self.sweep.name

    def close(self) -> None:
        """Release the storage's database connections (journal files hold none)."""
        storage = self.__dict__.pop("storage", None)
        engine = getattr(storage, "engine", None)
        if engine is not None:
            storage.remove_session()
            engine.dispose()

    def __enter__(self) -> SweepStudy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def key(self, number: int) -> str:
        return self.renderer.key(number)

    def number_of(self, key: str) -> int | None:
        """The trial number a key names, or None when it is not a key of this sweep."""
        prefix, _, digits = key.rpartition("-")
        return int(digits) if prefix == self.name and digits.isdigit() else None

    @bulk  # loading replays the whole journal: many objects, no cycles
    def study(self, sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
        """The study, created on first use; refused when the sweep no longer matches it."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        directions = [o.direction or "minimize" for o in self.sweep.objectives]
        sampler = sampler or optuna.samplers.RandomSampler(seed=self.sweep.spec.seed)
        try:  # not create_study first: on a journal it appends a record even when the study exists
            study = optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)
        except KeyError:
            study = optuna.create_study(
                storage=self.storage,
                study_name=self.name,
                directions=directions,
                sampler=sampler,
                load_if_exists=True,
            )
        self._check(study)
        return study

    def _signature(self) -> dict[str, str]:
        from optuna.distributions import distribution_to_json

        space = {k: distribution_to_json(d) for k, d in self.encoding.distributions().items()}
        objectives = [[o.metric, o.direction] for o in self.sweep.objectives]
        return {
            STUDY_SPACE: json.dumps(space, sort_keys=True),
            STUDY_OBJECTIVES: json.dumps(objectives),
        }

    def _check(self, study: optuna.Study) -> None:
        stored = self.storage.get_study_system_attrs(study._study_id)
        for key, value in self._signature().items():
            if key not in stored:
                self.storage.set_study_system_attr(study._study_id, key, value)
            elif stored[key] != value:
                what = "space" if key == STUDY_SPACE else "objectives"
                raise StudyError(
                    f"the {what} of sweep {self.name!r} changed since its study was created in "
                    f"{self.location.url}; a study keeps its distributions and objectives for "
                    "life: restore them, or give the sweep a new name to start a new study"
                )

    # -- asking --------------------------------------------------------------------------

    def ask(self, n: int) -> list[AskedTrial]:
        """Hand out the next `n` trials (fewer when `max_trials` or the space runs out)."""
        if n < 1:
            raise StudyError(f"ask for at least one trial, not {n}")
        with self.location.lock(self.name):
            study = self.study()
            trials = study.get_trials(deepcopy=False)
            count = self._budget(trials, n)
            if self.sweep.strategy in STATIC:
                numbers = self._ask_static(study, trials, count)
            else:
                numbers = self._ask_adaptive(trials, count)
            return [self._asked(study, number) for number in numbers]

    def _budget(self, trials: Sequence[FrozenTrial], n: int) -> int:
        limit = self.sweep.spec.max_trials
        if limit is None:
            return n
        return max(0, min(n, limit - sum(1 for t in trials if counts(t))))

    def _ask_static(self, study: optuna.Study, trials: Sequence[FrozenTrial], n: int) -> list[int]:
        live = [t for t in trials if DISCARDED not in t.system_attrs]
        taken = {t.system_attrs.get(POSITION) for t in live}
        seen = {config_key(self.params(t)) for t in live}
        numbers: list[int] = []
        points = sequence(self.sweep.space, self.sweep.strategy, self.sweep.spec.seed)
        for position, params in enumerate(points):
            if len(numbers) >= n:
                break
            if position in taken or config_key(params) in seen:
                continue
            numbers.append(self._create(study, params, {POSITION: position}))
        return numbers

    def _create(self, study: optuna.Study, params: Params, system_attrs: dict[str, Any]) -> int:
        from optuna.trial import TrialState, create_trial

        encoded = self.encoding.encode(params)
        distributions = self.encoding.distributions()
        template = create_trial(
            state=TrialState.RUNNING,
            params=encoded,
            distributions={k: distributions[k] for k in encoded},
            system_attrs=system_attrs,
        )
        trial_id = self.storage.create_new_trial(study._study_id, template_trial=template)
        return int(self.storage.get_trial_number_from_id(trial_id))

    def _ask_adaptive(self, trials: Sequence[FrozenTrial], n: int) -> list[int]:
        import optuna

        from ftsweep.study.samplers import make_sampler

        sampler = make_sampler(self.sweep.strategy, self.sweep.spec.seed + len(trials))
        study = optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)
        seen = {config_key(self.params(t)) for t in trials if DISCARDED not in t.system_attrs}
        numbers: list[int] = []
        if self.sweep.space.size is not None and len(seen) >= self.sweep.space.size:
            return numbers  # every configuration has been tried: nothing to propose
        for _ in range(n):
            number = self._propose(study, seen)
            if number is None:
                break
            numbers.append(number)
        return numbers

    def _propose(self, study: optuna.Study, seen: set[str]) -> int | None:
        """One unseen configuration from the sampler (or, failing that, the seeded sequence)."""
        from optuna.trial import TrialState

        for _ in range(_PROPOSALS):
            trial = study.ask()
            key = config_key(self.encoding.suggest(trial))
            if key not in seen:
                seen.add(key)
                return int(trial.number)
            self.storage.set_trial_system_attr(trial._trial_id, DISCARDED, "duplicate proposal")
            study.tell(trial, state=TrialState.FAIL)
        for params in sequence(self.sweep.space, "random", self.sweep.spec.seed):
            if config_key(params) not in seen:
                seen.add(config_key(params))
                return self._create(study, params, {})
            if self.sweep.space.size is None:
                break
        return None

    def _asked(self, study: optuna.Study, number: int) -> AskedTrial:
        trial = self.storage.get_trial(
            self.storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        )
        params = self.params(trial)
        return AskedTrial(number, self.key(number), params, self.renderer.body(number, params))

    def params(self, trial: FrozenTrial) -> Params:
        """The configuration a trial stands for."""
        return self.encoding.decode(trial.params)

    def abandon(self, asked: Sequence[AskedTrial]) -> None:
        """Fail trials whose batch was never delivered, so they neither linger nor count."""
        from optuna.trial import TrialState

        study = self.study()
        writes = TrialWrites()
        for item in asked:
            trial_id = self.storage.get_trial_id_from_study_id_trial_number(
                study._study_id, item.number
            )
            writes.system_attrs(trial_id, {DISCARDED: "batch not written"})
            writes.finish(trial_id, TrialState.FAIL, None)
        writes.commit(self.storage)

    @contextlib.contextmanager
    def asking(self, n: int) -> Iterator[list[AskedTrial]]:
        """Hand out `n` trials for the block; if the block fails, abandon them."""
        asked = self.ask(n)
        try:
            yield asked
        except BaseException:
            self.abandon(asked)
            raise


def job_info(trial: FrozenTrial) -> dict[str, Any]:
    """What ftsweep knows of a trial's job (one user attribute, so a tell writes one record)."""
    return dict(trial.user_attrs.get(JOB) or {})


def original_number(trial: FrozenTrial) -> int:
    """The number of the trial a trial stands for: its own, or the one it supersedes."""
    return int(trial.system_attrs.get(SUPERSEDES, trial.number))


def counts(trial: FrozenTrial) -> bool:
    """Whether a trial counts against `max_trials` (not discarded, not a replacement)."""
    return DISCARDED not in trial.system_attrs and SUPERSEDES not in trial.system_attrs

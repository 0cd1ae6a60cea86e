"""A sweep's Optuna study: created on first use, checked against the sweep, asked for trials.

Every trial a sweep hands out is an Optuna trial: static strategies (grid, random, sobol) store
the next unused points of their seeded sequence, adaptive ones (tpe, gp, cmaes, nsga2) ask the
study's sampler, over an in-memory copy of the study so that only distinct proposals become
trials. Each trial is written whole, in one storage call, so readers need no lock. Handing out
happens under the storage's lock (a file lock, or a PostgreSQL advisory lock), so concurrent
workers never receive the same trial or the same point.

Trial attributes ftsweep keeps (system attributes, `ftsweep:` prefixed): `position` (the point's
place in a static sequence), `discarded` (why a trial is not part of the sweep: a batch that was
never written), `origin` (`import`) and `supersedes` (the trial a forced result replaced).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftsweep._bulk import bulk
from ftsweep.errors import NoStudyError, StudyError
from ftsweep.study.batch import AskedTrial, Batch, Shortfall
from ftsweep.study.delivery import (
    DELIVERED,
    PENDING,
    delivered_batches,
    delivered_in_file,
    is_orphaned,
    is_stream,
    pending_marker,
)
from ftsweep.study.store.attrs import config_attrs
from ftsweep.study.store.encoding import Encoding
from ftsweep.study.store.storage import StorageLocation, resolve_storage
from ftsweep.study.store.writes import TrialWrites
from ftsweep.sweep.dimensions import Dimension, FloatRange, Value
from ftsweep.sweep.jobs import JobRenderer
from ftsweep.sweep.spec import MAX_TRIALS
from ftsweep.sweep.strategies import STATIC, sequence

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params

__all__ = [
    "SweepStudy",
    "config_key",
    "counts",
    "original_number",
]

POSITION = "ftsweep:position"
DISCARDED = "ftsweep:discarded"
ORIGIN = "ftsweep:origin"
SUPERSEDES = "ftsweep:supersedes"
STUDY_SPACE = "ftsweep:distributions"
STUDY_OBJECTIVES = "ftsweep:objectives"
_PROPOSALS = 10  # tries an adaptive sampler gets to propose an unseen configuration
_DIGITS = 3  # significant digits of a float an adaptive sampler chooses: 1.44, 0.0284
_FALLBACK_POINTS = 100_000  # points of the seeded sequence searched for an unseen one after that


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

    @cached_property
    def reader(self) -> Any:
        """The storage opened for reading only: it takes no lock and creates nothing. A database
        is read through `storage` itself (opening one writes nothing; `trials` checks first that
        a SQLite file exists), so that a study holds one connection pool."""
        if self.location.path is None:
            return self.storage
        return self.location.open(read_only=True)

    @property
    def name(self) -> str:
        return self.sweep.name

    def close(self) -> None:
        """Release the storage's database connections (journal files hold none)."""
        self.__dict__.pop("reader", None)  # a journal reader, or `storage` itself
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
        ascii_digits = digits.isascii() and digits.isdigit()  # int("²") raises
        return int(digits) if prefix == self.name and ascii_digits else None

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
        self._check(study, self.storage)
        _name_metrics(study, [o.metric for o in self.sweep.objectives])
        return study

    @bulk
    def trials(self) -> list[FrozenTrial]:
        """Every trial of the study, read without a lock and without creating anything: each
        trial is written whole, so a reader never sees one half made. A storage that holds no
        study of this sweep is a NoStudyError."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = self.__dict__.get("storage")  # one already opened to write reads as well
        if storage is None:
            if not self.location.exists():
                raise self._no_study()
            storage = self.reader
        try:
            study = optuna.load_study(study_name=self.name, storage=storage)
        except KeyError:
            raise self._no_study() from None
        self._check(study, storage, write=False)
        return study.get_trials(deepcopy=False)

    def _no_study(self) -> NoStudyError:
        return NoStudyError(
            f"{self.location.url} holds no study of sweep {self.name!r}: nothing has been "
            f"asked or imported yet (ftsweep ask {self.sweep.file})"
        )

    def _signature(self) -> dict[str, str]:
        from optuna.distributions import distribution_to_json

        space = {k: distribution_to_json(d) for k, d in self.encoding.distributions().items()}
        objectives = [[o.metric, o.direction] for o in self.sweep.objectives]
        return {
            STUDY_SPACE: json.dumps(space, sort_keys=True),
            STUDY_OBJECTIVES: json.dumps(objectives),
        }

    def _check(self, study: optuna.Study, storage: Any, *, write: bool = True) -> None:
        stored = storage.get_study_system_attrs(study._study_id)
        for key, value in self._signature().items():
            if key not in stored:
                if write:
                    storage.set_study_system_attr(study._study_id, key, value)
            elif stored[key] != value:
                what = "space" if key == STUDY_SPACE else "objectives"
                raise StudyError(
                    f"the {what} of sweep {self.name!r} changed since its study was created in "
                    f"{self.location.url}; a study keeps its distributions and objectives for "
                    "life: restore them, or give the sweep a new name to start a new study"
                )

    # -- asking --------------------------------------------------------------------------

    def ask(self, n: int) -> Batch:
        """Hand out the next `n` trials (fewer when `max_trials` or the space runs out; the
        batch's `shortfall` says which). They are delivered: returned is handed out."""
        return self._allocate(n, None)

    def _allocate(self, n: int, pending: dict[str, Any] | None) -> Batch:
        if not 1 <= n <= MAX_TRIALS:
            raise StudyError(f"ask for 1 to {MAX_TRIALS:,} trials, not {n:,}")
        marks = {PENDING: pending} if pending is not None else {}
        with self.location.lock(self.name):
            study = self.study()
            self._reclaim(study, study.get_trials(deepcopy=False))
            trials = study.get_trials(deepcopy=False)
            live = [t for t in trials if DISCARDED not in t.system_attrs]
            count = self._budget(live, n)
            if self.sweep.strategy in STATIC:
                numbers = self._ask_static(study, live, count, marks)
            else:
                numbers = self._ask_adaptive(study, live, count, marks)
            asked = [self._asked(study, number) for number in numbers]
        return Batch(asked, n, self._shortfall(len(asked), n, count))

    def _reclaim(self, study: optuna.Study, trials: Sequence[FrozenTrial]) -> None:
        """Discard the pending trials of processes that died before their batch was written
        (see `ftsweep.study.delivery`); deliver those whose batch file holds them."""
        from optuna.trial import TrialState

        delivered = delivered_batches(self.storage.get_study_system_attrs(study._study_id))
        orphans = [
            t for t in trials if t.state == TrialState.RUNNING and is_orphaned(t, delivered)
        ]
        if not orphans:
            return
        written = delivered_in_file(orphans, {t.number: self.key(t.number) for t in orphans})
        writes = TrialWrites()
        for trial in orphans:
            marker = trial.system_attrs[PENDING]
            if trial.number in written:
                self._deliver(study, marker["batch"])
                continue
            why = f"batch never written (process {marker.get('pid')} died)"
            writes.system_attrs(trial._trial_id, {DISCARDED: why})
            writes.finish(trial._trial_id, TrialState.FAIL, None)
        writes.commit(self.storage)

    def _deliver(self, study: optuna.Study, batch: str) -> None:
        """Mark a batch's pending trials delivered: one study attribute for the whole batch."""
        self.storage.set_study_system_attr(study._study_id, DELIVERED + batch, True)

    def _budget(self, live: Sequence[FrozenTrial], n: int) -> int:
        limit = self.sweep.spec.max_trials
        if limit is None:
            return n
        return max(0, min(n, limit - sum(1 for t in live if counts(t))))

    def _shortfall(self, handed_out: int, n: int, budget: int) -> Shortfall | None:
        if handed_out == n:
            return None
        if handed_out == budget:
            limit = self.sweep.spec.max_trials
            return Shortfall("max_trials", f"max_trials ({limit}) reached")
        size = self.sweep.space.size
        if size is not None:
            return Shortfall("space", f"every one of the space's {size:,} configurations was tried")
        return Shortfall("space", "no configuration left that has not been tried")

    def _ask_static(
        self, study: optuna.Study, live: Sequence[FrozenTrial], n: int, marks: dict[str, Any]
    ) -> list[int]:
        taken = {t.system_attrs.get(POSITION) for t in live}
        seen = self._seen(live)
        numbers: list[int] = []
        points = sequence(self.sweep.space, self.sweep.strategy, self.sweep.spec.seed)
        for position, params in enumerate(points):
            if len(numbers) >= n:
                break
            if position in taken or config_key(params) in seen:
                continue
            numbers.append(self._create(study, params, {POSITION: position, **marks}))
        return numbers

    def _create(self, study: optuna.Study, params: Params, system_attrs: dict[str, Any]) -> int:
        """A new running trial holding `params`, written whole in one storage call, so a reader
        never sees a trial with half its parameters."""
        template = self._running(params, system_attrs)
        trial_id = self.storage.create_new_trial(study._study_id, template_trial=template)
        return int(self.storage.get_trial_number_from_id(trial_id))

    def _ask_adaptive(
        self, study: optuna.Study, live: Sequence[FrozenTrial], n: int, marks: dict[str, Any]
    ) -> list[int]:
        """Proposals come from the sampler over an in-memory copy of the study, and only the
        distinct ones become trials of the real study: a duplicate proposal costs no trial
        number and never counts, and every trial is written whole."""
        seen = self._seen(live)
        if n == 0 or (self.sweep.space.size is not None and len(seen) >= self.sweep.space.size):
            return []  # every configuration has been tried: nothing to propose
        scratch = self._scratch(live)
        numbers: list[int] = []
        for _ in range(n):
            params, system_attrs = self._propose(scratch, seen)
            if params is None:
                break
            seen.add(config_key(params))
            numbers.append(self._create(study, params, {**system_attrs, **marks}))
        return numbers

    def _scratch(self, live: Sequence[FrozenTrial]) -> optuna.Study:
        import optuna

        from ftsweep.study.store.samplers import make_sampler

        seed = (self.sweep.spec.seed + len(live)) % 2**32  # a new seed per batch
        directions = [o.direction or "minimize" for o in self.sweep.objectives]
        sampler = make_sampler(self.sweep.strategy, seed)
        scratch = optuna.create_study(directions=directions, sampler=sampler)
        scratch.add_trials(live)
        return scratch

    def _propose(
        self, scratch: optuna.Study, seen: set[str]
    ) -> tuple[Params | None, dict[str, Any]]:
        """An unseen configuration and the sampler's trial attributes (CMA-ES and NSGA-II keep
        their state there); failing that, the first unseen point of the seeded sequence."""
        from optuna.trial import TrialState

        for _ in range(_PROPOSALS):
            trial = scratch.ask()
            params = self._rounded(self.encoding.suggest(trial))
            if config_key(params) not in seen:
                return params, dict(scratch.get_trials(deepcopy=False)[trial.number].system_attrs)
            scratch.tell(trial, state=TrialState.FAIL)
        points = sequence(self.sweep.space, "random", self.sweep.spec.seed)
        for params in itertools.islice(points, _FALLBACK_POINTS):
            if config_key(params) not in seen:
                scratch.add_trial(self._running(params))
                return params, {}
        return None, {}

    def _rounded(self, params: Params) -> Params:
        """A sampler's continuous floats to `_DIGITS` significant digits, as bodies show them."""
        for sub in self.sweep.space.subspaces:
            if sub.contains(params):
                dims = sub.dimensions
                return {name: _round(dims[name], value) for name, value in params.items()}
        return params

    def _seen(self, live: Sequence[FrozenTrial]) -> set[str]:
        """The configurations of the live trials (a trial plain Optuna added is none)."""
        decoded = (self.encoding.configuration(t) for t in live)
        return {config_key(p) for p in decoded if p is not None}

    def _running(self, params: Params, system_attrs: dict[str, Any] | None = None) -> FrozenTrial:
        """A running trial of `params`, to be added to a study whole."""
        from optuna.trial import TrialState, create_trial

        encoded = self.encoding.encode(params)
        distributions = self.encoding.distributions()
        return create_trial(
            state=TrialState.RUNNING,
            params=encoded,
            distributions={k: distributions[k] for k in encoded},
            system_attrs=system_attrs,
            user_attrs=config_attrs(params),
        )

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

        writes = TrialWrites()
        for trial_id in self._trial_ids(asked):
            writes.system_attrs(trial_id, {DISCARDED: "batch not written"})
            writes.finish(trial_id, TrialState.FAIL, None)
        writes.commit(self.storage)

    def _trial_ids(self, asked: Sequence[AskedTrial]) -> list[int]:
        study_id = self.study()._study_id
        number_to_id = self.storage.get_trial_id_from_study_id_trial_number
        return [number_to_id(study_id, item.number) for item in asked]

    @contextlib.contextmanager
    def asking(self, n: int, *, output: str | Path | None = None) -> Iterator[Batch]:
        """Hand out `n` trials for a block that writes them to `output` (None: a stream).

        If the block fails, the trials are abandoned. Until it ends they are pending: should
        this process die first, the next `ask` reclaims them unless `output` holds them. A batch
        for a stream counts as delivered as the block starts: a reader may take part of it.
        """
        stream, marker = is_stream(output), pending_marker(output)
        batch = self._allocate(n, marker)
        if batch and stream:
            self._deliver(self.study(), marker["batch"])
        try:
            yield batch
        except BaseException:
            self.abandon(batch)
            raise
        if batch and not stream:
            self._deliver(self.study(), marker["batch"])


def _name_metrics(study: optuna.Study, metrics: list[str]) -> None:
    """Name the objectives, so Optuna's tools show `full_valid_loss`, not "Objective 0"."""
    import warnings

    import optuna

    if study.metric_names == metrics:
        return
    with warnings.catch_warnings():  # set_metric_names is experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(metrics)


def _round(dimension: Dimension, value: Value) -> Value:
    if isinstance(dimension, FloatRange) and dimension.points is None and isinstance(value, float):
        return dimension.rounded(value, _DIGITS)
    return value


def original_number(trial: FrozenTrial) -> int:
    """The number of the trial a trial stands for: its own, or the one it supersedes."""
    return int(trial.system_attrs.get(SUPERSEDES, trial.number))


def counts(trial: FrozenTrial) -> bool:
    """Whether a trial counts against `max_trials` (not discarded, not a replacement)."""
    return DISCARDED not in trial.system_attrs and SUPERSEDES not in trial.system_attrs

"""The trial store: a sweep's study in its storage, read as typed records, changed by typed writes.

This is the only code that reads or writes Optuna's storages. `TrialStore.load` gives every
trial of the sweep as a frozen `TrialRecord`; `TrialStore.apply` applies a list of writes
(`ftsweep.study.records`) all or nothing where the storage allows it:

- on ftsweep's journal file every write of one `apply` is one framed append: a kill leaves the
  journal as before or with all of it;
- on a database (SQLite, PostgreSQL) the updates of finished, discarded and told trials are one
  transaction; each new trial is its own (written whole, so a reader never sees half of one).

Writers hold the study's lock (`lock`), so no two processes hand out or tell at once. Readers
need none: a trial is never seen half written. Trial attributes ftsweep keeps (system
attributes, `ftsweep:` prefixed): `position`, `discarded`, `origin`, `supersedes`, `pending`;
study attributes: the space and objectives the study was made with, and delivered batches.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ftsweep._bulk import bulk
from ftsweep.errors import NoStudyError, StudyError
from ftsweep.study.records import (
    Create,
    Deliver,
    Discard,
    Finish,
    RecordJob,
    State,
    TrialRecord,
    Write,
)
from ftsweep.study.store.attrs import config_attrs, has_config, job_attrs, job_record
from ftsweep.study.store.encoding import Encoding
from ftsweep.study.store.storage import StorageLocation, resolve_storage
from ftsweep.sweep.jobs import trial_key

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

    from ftsweep.sweep.load import Sweep

__all__ = ["DELIVERED", "Snapshot", "TrialStore"]

POSITION = "ftsweep:position"
DISCARDED = "ftsweep:discarded"
ORIGIN = "ftsweep:origin"
SUPERSEDES = "ftsweep:supersedes"
PENDING = "ftsweep:pending"
DELIVERED = "ftsweep:delivered:"  # + the batch's id: a study system attribute
STUDY_SPACE = "ftsweep:distributions"
STUDY_OBJECTIVES = "ftsweep:objectives"


@dataclass(frozen=True)
class Snapshot:
    """The sweep's trials, in number order, and the batches known to have been delivered."""

    trials: list[TrialRecord]
    delivered: frozenset[str]


class TrialStore:
    """One sweep's study in the storage `storage` names (or the default)."""

    def __init__(self, sweep: Sweep, storage: str | None = None) -> None:
        self.sweep = sweep
        self.location: StorageLocation = resolve_storage(sweep.file, storage)
        self.encoding = Encoding(sweep.space)
        self._frozen: dict[int, FrozenTrial] = {}  # the last load's, for samplers
        self._locks = 0

    @property
    def name(self) -> str:
        return self.sweep.name

    # -- storages ------------------------------------------------------------------------

    @cached_property
    def storage(self) -> BaseStorage:
        return self.location.open()

    @cached_property
    def _reader(self) -> BaseStorage:
        """The storage for reading only: no lock, nothing created (a database is read through
        the writer's storage: opening one writes nothing, and one pool is enough)."""
        if self.location.path is None:
            return self.storage
        return self.location.open(read_only=True)

    def close(self) -> None:
        """Release the storage's database connections (journal files hold none)."""
        self.__dict__.pop("_reader", None)
        storage = self.__dict__.pop("storage", None)
        engine = getattr(storage, "engine", None)
        if engine is not None:
            storage.remove_session()
            engine.dispose()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the study's lock: one process at a time changes it. Reentrant."""
        if self._locks:
            self._locks += 1
            try:
                yield
            finally:
                self._locks -= 1
            return
        with self.location.lock(self.name):
            self._locks = 1
            try:
                yield
            finally:
                self._locks = 0

    # -- reading -------------------------------------------------------------------------

    @bulk  # replaying a journal makes many objects and no cycles
    def load(self, *, write: bool = False) -> Snapshot:
        """Every trial of the sweep. With `write`, the study is created when missing and
        checked against the sweep; without, nothing is created or locked, and a storage that
        holds no study of the sweep is a NoStudyError."""
        storage = self._open_for_writing() if write else self._open_for_reading()
        study_id = storage.get_study_id_from_name(self.name)
        attrs = storage.get_study_system_attrs(study_id)
        trials = storage.get_all_trials(study_id, deepcopy=False)
        self._frozen = {t.number: t for t in trials}
        delivered = frozenset(k.removeprefix(DELIVERED) for k in attrs if k.startswith(DELIVERED))
        return Snapshot([self._record(t) for t in trials], delivered)

    def _open_for_reading(self) -> BaseStorage:
        storage = self.__dict__.get("storage")  # one opened to write reads as well
        if storage is None:
            if not self.location.exists():
                raise self._no_study()
            storage = self._reader
        self._check(storage, write=False)
        return storage

    def _open_for_writing(self) -> BaseStorage:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = self.storage
        try:
            study = optuna.load_study(study_name=self.name, storage=storage)
        except KeyError:  # not create_study first: on a journal it appends even when it exists
            directions = [o.direction or "minimize" for o in self.sweep.objectives]
            study = optuna.create_study(
                storage=storage, study_name=self.name, directions=directions, load_if_exists=True
            )
        self._check(storage, write=True)
        _name_metrics(study, [o.metric for o in self.sweep.objectives])
        return storage

    def _no_study(self) -> NoStudyError:
        return NoStudyError(
            f"{self.location.url} holds no study of sweep {self.name!r}: nothing has been "
            f"asked or imported yet (ftsweep ask {self.sweep.file})"
        )

    def _check(self, storage: BaseStorage, *, write: bool) -> None:
        """Refuse a study whose space or objectives are not the sweep's; record them if new."""
        try:
            study_id = storage.get_study_id_from_name(self.name)
        except KeyError:
            raise self._no_study() from None
        stored = storage.get_study_system_attrs(study_id)
        for key, value in self._signature().items():
            if key not in stored:
                if write:
                    storage.set_study_system_attr(study_id, key, value)
            elif stored[key] != value:
                what = "space" if key == STUDY_SPACE else "objectives"
                raise StudyError(
                    f"the {what} of sweep {self.name!r} changed since its study was created in "
                    f"{self.location.url}; a study keeps its distributions and objectives for "
                    "life: restore them, or give the sweep a new name to start a new study"
                )

    def _signature(self) -> dict[str, str]:
        space = self.encoding.texts
        objectives = [[o.metric, o.direction] for o in self.sweep.objectives]
        return {
            STUDY_SPACE: json.dumps(space, sort_keys=True),
            STUDY_OBJECTIVES: json.dumps(objectives),
        }

    def _record(self, trial: FrozenTrial) -> TrialRecord:
        system = trial.system_attrs
        supersedes = system.get(SUPERSEDES)
        original = trial.number if supersedes is None else int(supersedes)
        values = tuple(trial.values) if trial.values is not None else None
        pending = system.get(PENDING)
        return TrialRecord(
            number=trial.number,
            key=trial_key(self.name, original),
            params=self.encoding.configuration(trial),
            state=State(trial.state.name.lower()),
            values=values,
            origin=str(system.get(ORIGIN, "ask")),
            position=system.get(POSITION),
            supersedes=None if supersedes is None else original,
            discarded=system.get(DISCARDED),
            pending=pending if isinstance(pending, dict) else None,
            job=job_record(trial.user_attrs),
            started=_utc(trial.datetime_start),
            completed=_utc(trial.datetime_complete),
            shows_config=has_config(trial.user_attrs),
        )

    # -- writing -------------------------------------------------------------------------

    def apply(self, writes: Sequence[Write]) -> list[int]:
        """Apply `writes` (see the module docstring); the numbers of the new trials, in order.
        The caller holds the lock and loaded the study to write since taking it."""
        if not writes:
            return []
        storage = self.storage
        try:
            with self._transaction(storage):
                return self._apply(storage, writes)
        except BaseException:
            if getattr(storage, "journal", None) is not None:
                self.__dict__.pop("storage", None)  # it replayed what was not written
            raise

    def _transaction(self, storage: BaseStorage) -> contextlib.AbstractContextManager[None]:
        journal = getattr(storage, "journal", None)
        return journal.transaction() if journal is not None else contextlib.nullcontext()

    def _apply(self, storage: BaseStorage, writes: Sequence[Write]) -> list[int]:
        from ftsweep.study.store.writes import TrialWrites

        study_id = storage.get_study_id_from_name(self.name)
        created = [self._create(storage, study_id, w) for w in writes if isinstance(w, Create)]
        updates = TrialWrites()
        ids = _TrialIds(storage, study_id, self._frozen)
        for write in writes:
            if isinstance(write, Finish):
                state = _optuna_state(write.state)
                updates.finish(ids[write.number], state, write.values, write.completed)
            elif isinstance(write, Discard):
                updates.system_attrs(ids[write.number], {DISCARDED: write.reason})
                updates.finish(ids[write.number], _optuna_state(State.FAIL), None)
            elif isinstance(write, RecordJob):
                self._record_job(updates, ids[write.number], write)
        updates.commit(storage)
        for write in writes:
            if isinstance(write, Deliver):
                storage.set_study_system_attr(study_id, DELIVERED + write.batch, True)
        return created

    def _record_job(self, updates: Any, trial_id: int, write: RecordJob) -> None:
        held = self._held_attrs(write.number)
        new = {k: v for k, v in job_attrs(write.job).items() if held.get(k) != v}
        if write.config and write.number in self._frozen:
            params = self.encoding.configuration(self._frozen[write.number])
            new.update(config_attrs(params) if params is not None else {})
        if new:
            updates.user_attrs(trial_id, new)

    def _held_attrs(self, number: int) -> dict[str, Any]:
        trial = self._frozen.get(number)
        return dict(trial.user_attrs) if trial is not None else {}

    def _create(self, storage: BaseStorage, study_id: int, write: Create) -> int:
        template = self._template(write)
        trial_id = storage.create_new_trial(study_id, template_trial=template)
        number = int(storage.get_trial_number_from_id(trial_id))
        if write.number is not None and number != write.number:
            raise StudyError(
                f"sweep {self.name!r}: a new trial got number {number}, not {write.number}: the "
                "study changed while this command held its lock; run the command again"
            )
        self._frozen[number] = storage.get_trial(trial_id)
        return number

    def _template(self, write: Create) -> FrozenTrial:
        from optuna.trial import create_trial

        encoded = self.encoding.encode(write.params)
        distributions = self.encoding.distributions()
        ours = {
            POSITION: write.position,
            ORIGIN: None if write.origin == "ask" else write.origin,
            SUPERSEDES: write.supersedes,
            PENDING: dict(write.pending) if write.pending is not None else None,
        }
        system = {**write.sampler_attrs, **{k: v for k, v in ours.items() if v is not None}}
        template = create_trial(
            state=_optuna_state(write.state),
            values=list(write.values) if write.state == State.COMPLETE and write.values else None,
            params=encoded,
            distributions={k: distributions[k] for k in encoded},
            user_attrs={**config_attrs(write.params), **job_attrs(write.job)},
            system_attrs=system,
        )
        if write.started is not None:
            template.datetime_start = write.started
        if write.completed is not None and write.state.finished:
            template.datetime_complete = write.completed
        return template

    # -- Optuna itself ------------------------------------------------------------------

    def optuna_study(self) -> optuna.Study:
        """The sweep's study as Optuna's own object, for Optuna's tools (plots, importances):
        read it, but write through `apply` only, or ftsweep's bookkeeping breaks."""
        import optuna

        self._open_for_reading()
        storage = self.__dict__.get("storage") or self._reader
        return optuna.load_study(study_name=self.name, storage=storage)

    def optuna_trials(self, records: Sequence[TrialRecord]) -> list[FrozenTrial]:
        """The loaded Optuna trials of `records`, as a sampler learns from them."""
        return [self._frozen[r.number] for r in records]


class _TrialIds:
    """Trial numbers to the storage's trial ids.

    The ids of loaded trials are read from the trials themselves (`FrozenTrial._trial_id`, the
    one private attribute this module reads): Optuna's public lookup re-reads the journal on
    every call, which made a tell of 10,000 results four times slower. A trial the last load
    did not see is looked up through the public API."""

    def __init__(
        self, storage: BaseStorage, study_id: int, loaded: dict[int, FrozenTrial]
    ) -> None:
        self._storage, self._study_id, self._loaded = storage, study_id, loaded

    def __getitem__(self, number: int) -> int:
        found = getattr(self._loaded.get(number), "_trial_id", None)
        if isinstance(found, int):
            return found
        lookup = self._storage.get_trial_id_from_study_id_trial_number
        return int(lookup(self._study_id, number))


def _optuna_state(state: State) -> Any:
    from optuna.trial import TrialState

    return TrialState[state.name]


def _utc(moment: datetime | None) -> datetime | None:
    """Optuna's trial times are naive local times; the records' are aware UTC."""
    return moment.astimezone(UTC) if moment is not None else None


def _name_metrics(study: optuna.Study, metrics: list[str]) -> None:
    """Name the objectives, so Optuna's tools show `full_valid_loss`, not "Objective 0"."""
    import warnings

    import optuna

    if study.metric_names == metrics:
        return
    with warnings.catch_warnings():  # set_metric_names is experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(metrics)

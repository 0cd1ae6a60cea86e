"""The trial store: a sweep's study in its storage, read as typed records, changed by typed writes.

This is the only code that reads or writes Optuna's storages. `TrialStore.load` gives every
trial of the sweep as a frozen `TrialRecord`; `TrialStore.apply` applies a list of writes
(`ftsweep.study.records`) all or nothing where the storage allows it:

- on ftsweep's journal file every write of one `apply` is one framed append: a kill leaves the
  journal as before or with all of it;
- on a database (SQLite, PostgreSQL) the updates of finished, discarded, told and reported
  trials are one transaction; each new trial is its own (written whole, so a reader never sees
  half of one).

A journal is read without Optuna (`ftsweep.study.store.journal_replay`), and every write is
appended as the records Optuna's own setters write (`ftsweep.study.store.journal_format`,
`ftsweep.study.store.writes`): reading a study, telling it results and handing out a static
strategy's trials neither import Optuna nor replay the journal through it, and a sampler learns
from `FrozenTrial`s made of the replay's trials. The study's creation and `optuna_study` go
through Optuna's storage over the same file; so does everything on a journal the replay does not
follow exactly (`Unreplayable`).

Writers hold the study's lock (`lock`), so no two processes hand out or tell at once. Readers
need none: a trial is never seen half written. Trial attributes ftsweep keeps (system
attributes, `ftsweep:` prefixed): `position`, `discarded`, `origin`, `supersedes`, `pending`,
`pruned`;
study attributes: the space and objectives the study was made with, delivered batches, and the
ids of uploaded data files by content.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from ftsweep._bulk import bulk
from ftsweep.errors import NoStudyError, StudyError
from ftsweep.study.records import (
    Create,
    Deliver,
    Discard,
    Finish,
    MarkPruned,
    RecordJob,
    RememberFile,
    Report,
    State,
    TrialRecord,
    Write,
)
from ftsweep.study.store.attrs import (
    PRUNED,
    config_attrs,
    has_config,
    job_attrs,
    job_record,
    pruned_attr,
    pruned_record,
)
from ftsweep.study.store.encoding import Encoding
from ftsweep.study.store.journal_format import (
    TRIAL_STATES,
    study_attr_record,
    trial_record,
    worker,
)
from ftsweep.study.store.journal_replay import (
    JournalReplay,
    JournalStudy,
    JournalTrial,
    Unreplayable,
    optuna_time,
)
from ftsweep.study.store.storage import StorageLocation, resolve_storage
from ftsweep.sweep.jobs import trial_key

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

    from ftsweep.study.store.journal_file import JournalFile
    from ftsweep.study.store.writes import TrialWrites
    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params

__all__ = ["DELIVERED", "Snapshot", "TrialStore"]

POSITION = "ftsweep:position"
DISCARDED = "ftsweep:discarded"
ORIGIN = "ftsweep:origin"
SUPERSEDES = "ftsweep:supersedes"
PENDING = "ftsweep:pending"
DELIVERED = "ftsweep:delivered:"  # + the batch's id: a study system attribute
FILE = "ftsweep:file:"  # + a data file's sha256: its id on the service
STUDY_SPACE = "ftsweep:distributions"
STUDY_OBJECTIVES = "ftsweep:objectives"
METRIC_NAMES = "study:metric_names"  # Optuna's study system attribute (`set_metric_names`)


@dataclass(frozen=True)
class Snapshot:
    """The sweep's trials, in number order, the batches known to have been delivered, and the
    ids of the data files uploaded for the sweep, by the sha256 of their content."""

    trials: list[TrialRecord]
    delivered: frozenset[str]
    files: Mapping[str, str] = field(default_factory=dict)


class _Held(NamedTuple):
    """What writing to a loaded trial needs: its storage id, user attributes, configuration."""

    trial_id: int
    user_attrs: Mapping[str, Any]
    params: Params | None


class TrialStore:
    """One sweep's study in the storage `storage` names (or the default)."""

    def __init__(self, sweep: Sweep, storage: str | None = None) -> None:
        self.sweep = sweep
        self.requested = storage  # as given: the sweeps this one warm-starts from open the same
        self.location: StorageLocation = resolve_storage(sweep.file, storage)
        self.encoding = Encoding(sweep.space)
        self._study_id = -1  # the last load's
        self._next = (0, 0)  # the id and number of the next new trial, after the last load
        self._held: dict[int, _Held] = {}  # the last load's trials, by number
        self._loaded: dict[int, FrozenTrial | JournalTrial] = {}  # the same, as loaded
        self._distributions: dict[str, BaseDistribution] = {}  # Optuna's, by their text
        # By trial id: a replayed trial, its version, and the record made of it then.
        self._made: dict[int, tuple[JournalTrial, int, TrialRecord]] = {}
        self._replays = self.location.path is not None  # False once a journal is Unreplayable
        self._locks = 0

    @property
    def name(self) -> str:
        return self.sweep.name

    # -- storages ------------------------------------------------------------------------

    @cached_property
    def _journal(self) -> JournalFile:
        """The journal file, opened to read until something is to be written to it."""
        from ftsweep.study.store.journal_file import JournalFile

        assert self.location.path is not None
        return JournalFile(self.location.path, read_only=True)

    @cached_property
    def _replay(self) -> JournalReplay:
        return JournalReplay(self._journal)

    @cached_property
    def _optuna(self) -> BaseStorage:
        """Optuna's storage (on a journal, over the store's one `JournalFile`, so that its
        appends join the same transaction)."""
        if self.location.path is None:
            return self.location.open()
        from ftsweep.study.store.journal import journal_storage

        return journal_storage(self._journal)

    @property
    def storage(self) -> BaseStorage:
        """Optuna's storage of the study, to write to (a missing journal file is made)."""
        if self.location.path is not None and self._journal.read_only:
            # Optuna first: a command killed while importing it leaves no empty journal.
            from ftsweep.study.store import journal  # noqa: F401

            self._journal.allow_writes()
        return self._optuna

    def close(self) -> None:
        """Release the storage's database connections (journal files hold none)."""
        for name in ("_replay", "_journal"):
            self.__dict__.pop(name, None)
        self._made.clear()
        storage = self.__dict__.pop("_optuna", None)
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
        if not write and not self.location.exists():
            raise self._no_study()
        if self._replays:
            try:
                return self._load_journal(write)
            except Unreplayable:  # Optuna's replay gives its exact result, or its error
                self._replays = False
                self.__dict__.pop("_replay", None)
        return self._load_optuna(write)

    def _load_journal(self, write: bool) -> Snapshot:
        study = self._replay.study(self.name) if self.location.exists() else None
        if write and (study is None or not self._set_up(study)):
            self._open_for_writing()  # Optuna creates the study, or completes its attributes
            study = self._replay.study(self.name)
        if study is None:
            raise self._no_study()
        self._missing(study.system_attrs)
        self._study_id = study.study_id
        self._next = (self._replay.next_trial_id, len(study.trials))
        trials = [(t, self._journal_record(t)) for t in study.trials]
        return self._snapshot(trials, study.system_attrs)

    def _set_up(self, study: JournalStudy) -> bool:
        """Whether the study holds its signature and metric names: writing needs no Optuna."""
        metrics = [o.metric for o in self.sweep.objectives]
        attrs = study.system_attrs
        return not self._missing(attrs) and attrs.get(METRIC_NAMES) == metrics

    def _load_optuna(self, write: bool) -> Snapshot:
        storage = self._open_for_writing() if write else self._open_for_reading()
        self._study_id = storage.get_study_id_from_name(self.name)
        attrs = storage.get_study_system_attrs(self._study_id)
        found = storage.get_all_trials(self._study_id, deepcopy=False)
        return self._snapshot([(t, self._optuna_record(t)) for t in found], attrs)

    def _snapshot(
        self,
        trials: Sequence[tuple[FrozenTrial | JournalTrial, TrialRecord]],
        attrs: Mapping[str, Any],
    ) -> Snapshot:
        """The snapshot of a load; each trial is kept for Optuna's samplers (`_loaded`), what
        writing to it needs in `_held`."""
        self._loaded = {r.number: t for t, r in trials}
        self._held = {r.number: _Held(_trial_id(t), t.user_attrs, r.params) for t, r in trials}
        delivered = frozenset(k.removeprefix(DELIVERED) for k in attrs if k.startswith(DELIVERED))
        files = {k.removeprefix(FILE): str(v) for k, v in attrs.items() if k.startswith(FILE)}
        return Snapshot([r for _, r in trials], delivered, files)

    def _open_for_reading(self) -> BaseStorage:
        storage = self._optuna
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
        for key in self._missing(storage.get_study_system_attrs(study_id)):
            if write:
                storage.set_study_system_attr(study_id, key, self._signature[key])

    def _missing(self, stored: Mapping[str, Any]) -> list[str]:
        """The attributes of the sweep's signature a study does not hold yet; a StudyError
        when one it holds is another."""
        missing = []
        for key, value in self._signature.items():
            if key not in stored:
                missing.append(key)
            elif stored[key] != value:
                what = "space" if key == STUDY_SPACE else "objectives"
                raise StudyError(
                    f"the {what} of sweep {self.name!r} changed since its study was created in "
                    f"{self.location.url}; a study keeps its distributions and objectives for "
                    "life: restore them, or give the sweep a new name to start a new study"
                )
        return missing

    @cached_property
    def _signature(self) -> dict[str, str]:
        objectives = [[o.metric, o.direction] for o in self.sweep.objectives]
        return {
            STUDY_SPACE: json.dumps(self.encoding.texts, sort_keys=True),
            STUDY_OBJECTIVES: json.dumps(objectives),
        }

    def _optuna_record(self, trial: FrozenTrial) -> TrialRecord:
        state = State(trial.state.name.lower())
        return self._record(trial, state, self.encoding.configuration(trial))

    def _journal_record(self, trial: JournalTrial) -> TrialRecord:
        """The record of a replayed trial, made again only when the trial changed (a tell after
        a read loads twice)."""
        made = self._made.get(trial.trial_id)
        if made is not None and made[0] is trial and made[1] == trial.version:
            return made[2]
        record = self._replayed_record(trial)
        self._made[trial.trial_id] = (trial, trial.version, record)
        return record

    def _replayed_record(self, trial: JournalTrial) -> TrialRecord:
        """Unreplayable when the trial holds one of the sweep's parameters with another
        distribution (whether Optuna takes the two for one is its own comparison)."""
        texts, made_here = self.encoding.texts, True
        for name, text in trial.distributions.items():
            ours = texts.get(name)
            if ours is not None and ours != text:
                raise Unreplayable(f"parameter {name!r} of the sweep with another distribution")
            made_here = made_here and ours is not None
        params = self.encoding.configuration_of(trial.params, made_here=made_here)
        return self._record(trial, State(TRIAL_STATES[trial.state]), params)

    def _record(
        self, trial: FrozenTrial | JournalTrial, state: State, params: Params | None
    ) -> TrialRecord:
        system = trial.system_attrs
        supersedes = system.get(SUPERSEDES)
        original = trial.number if supersedes is None else int(supersedes)
        values = tuple(trial.values) if trial.values is not None else None
        pending = system.get(PENDING)
        return TrialRecord(
            number=trial.number,
            key=trial_key(self.name, original),
            params=params,
            state=state,
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
            intermediate_values=_intermediate(trial.intermediate_values),
            pruned=pruned_record(system.get(PRUNED)),
        )

    # -- writing -------------------------------------------------------------------------

    @bulk  # telling 10,000 results makes many objects and no cycles
    def apply(self, writes: Sequence[Write]) -> list[int]:
        """Apply `writes` (see the module docstring); the numbers of the new trials, in order.
        The caller holds the lock and loaded the study to write since taking it (a store that
        never loaded loads first: writing needs the study's id)."""
        if not writes:
            return []
        if self._study_id < 0:
            self.load(write=True)
        if self.location.path is None:
            return self._apply(writes)
        journal = self._journal
        journal.allow_writes()
        try:
            with journal.transaction():
                return self._apply(writes)
        except BaseException:
            self.__dict__.pop("_optuna", None)  # it replayed what was not written
            raise

    def _apply(self, writes: Sequence[Write]) -> list[int]:
        from ftsweep.study.store.writes import TrialWrites

        creates = [w for w in writes if isinstance(w, Create)]
        if self.location.path is not None and self._replays:
            created = self._append_trials(creates)
        else:
            created = [self._create(w) for w in creates]
        updates = TrialWrites()
        for write in writes:
            self._update(updates, write)
        updates.commit(self._journal if self.location.path is not None else self.storage)
        study_attrs: dict[str, Any] = {}
        for write in writes:
            if isinstance(write, Deliver):
                study_attrs[DELIVERED + write.batch] = True
            elif isinstance(write, RememberFile):
                study_attrs[FILE + write.sha256] = write.file_id
        self._set_study_attrs(study_attrs)
        return created

    def _update(self, updates: TrialWrites, write: Write) -> None:
        """Add what `write` changes in an existing trial to `updates` (other writes: nothing)."""
        if isinstance(write, Finish):
            state = TRIAL_STATES.index(write.state.value)
            updates.finish(self._trial_id(write.number), state, write.values, write.completed)
        elif isinstance(write, Discard):
            trial_id = self._trial_id(write.number)
            updates.system_attrs(trial_id, {DISCARDED: write.reason})
            updates.finish(trial_id, TRIAL_STATES.index(State.FAIL.value), None)
        elif isinstance(write, RecordJob):
            self._record_job(updates, write)
        elif isinstance(write, Report):
            self._report(updates, write)
        elif isinstance(write, MarkPruned):
            attr = pruned_attr(write.pruned)
            updates.system_attrs(self._trial_id(write.number), {PRUNED: attr})

    def _trial_id(self, number: int) -> int:
        """A trial's storage id: the loaded trial's, else (a trial the last load did not see)
        Optuna's lookup."""
        held = self._held.get(number)
        if held is not None:
            return held.trial_id
        lookup = self.storage.get_trial_id_from_study_id_trial_number
        return int(lookup(self._study_id, number))

    def _record_job(self, updates: TrialWrites, write: RecordJob) -> None:
        held = self._held.get(write.number)
        attrs = held.user_attrs if held is not None else {}
        new = {k: v for k, v in job_attrs(write.job).items() if attrs.get(k) != v}
        if write.config and held is not None and held.params is not None:
            new.update(config_attrs(held.params))
        if new:
            updates.user_attrs(self._trial_id(write.number), new)

    def _report(self, updates: TrialWrites, write: Report) -> None:
        """The intermediate values the trial does not hold as they are (of the last load). A
        trial the load saw finished takes none (Optuna refuses them): a curve read while a job
        ran may reach the store after another process told how the job ended."""
        loaded = self._loaded.get(write.number)
        if loaded is not None and TRIAL_STATES[int(loaded.state)] not in ("running", "waiting"):
            return
        held = loaded.intermediate_values if loaded is not None else {}
        new = {step: value for step, value in write.values.items() if held.get(step) != value}
        if new:
            updates.intermediate(self._trial_id(write.number), new)

    def _set_study_attrs(self, attrs: Mapping[str, Any]) -> None:
        """Set study system attributes (delivered batches, uploaded files): on a journal as
        the records Optuna's setter writes."""
        if self.location.path is None:
            for key, value in attrs.items():
                self.storage.set_study_system_attr(self._study_id, key, value)
        elif attrs:
            writer = worker()
            self._journal.append_logs(
                [study_attr_record(writer, self._study_id, k, v) for k, v in attrs.items()]
            )

    def _append_trials(self, creates: Sequence[Create]) -> list[int]:
        """New trials on a journal, as the records Optuna's `create_new_trial` writes for them,
        numbered on from the last load (which the caller made under the lock)."""
        writer, (trial_id, number) = worker(), self._next
        logs, numbers = [], []
        for write in creates:
            self._numbered(write, number)
            log = self._trial_record(writer, write)
            self._held[number] = _Held(trial_id, log["user_attrs"], write.params)
            logs.append(log)
            numbers.append(number)
            trial_id, number = trial_id + 1, number + 1
        self._next = (trial_id, number)
        self._journal.append_logs(logs)
        return numbers

    def _trial_record(self, writer: str, write: Create) -> dict[str, Any]:
        """A new trial's record. A complete trial needs values, without NaN, as Optuna's
        `create_trial` checks (encoding keeps the parameters inside their distributions)."""
        encoded = self.encoding.encode(write.params)
        values = _values(write)
        if write.state == State.COMPLETE and (values is None or any(map(math.isnan, values))):
            raise ValueError(f"a complete trial needs values, without NaN: {values}")
        now = datetime.now(UTC)
        complete = _written(write.completed or now) if write.state.finished else None
        return trial_record(
            writer,
            self._study_id,
            state=TRIAL_STATES.index(write.state.value),
            values=values,
            times=(_written(write.started or now), complete),
            distributions={name: self.encoding.texts[name] for name in encoded},
            params=self.encoding.internal(encoded),
            user_attrs=_user_attrs(write),
            system_attrs=_system_attrs(write),
        )

    def _create(self, write: Create) -> int:
        storage = self.storage
        template = self._template(write)
        trial_id = storage.create_new_trial(self._study_id, template_trial=template)
        number = int(storage.get_trial_number_from_id(trial_id))
        self._numbered(write, number)
        self._held[number] = _Held(trial_id, template.user_attrs, write.params)
        return number

    def _numbered(self, write: Create, number: int) -> None:
        """Refuse a new trial that gets another number than the writer expects."""
        if write.number is not None and number != write.number:
            raise StudyError(
                f"sweep {self.name!r}: a new trial got number {number}, not {write.number}: the "
                "study changed while this command held its lock; run the command again"
            )

    def _template(self, write: Create) -> FrozenTrial:
        from optuna.trial import create_trial

        encoded = self.encoding.encode(write.params)
        distributions = self.encoding.distributions()
        template = create_trial(
            state=_optuna_state(write.state),
            values=_values(write),
            params=encoded,
            distributions={k: distributions[k] for k in encoded},
            user_attrs=_user_attrs(write),
            system_attrs=_system_attrs(write),
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

        if not self.location.exists():
            raise self._no_study()
        return optuna.load_study(study_name=self.name, storage=self._open_for_reading())

    def optuna_trials(self, records: Sequence[TrialRecord]) -> list[FrozenTrial]:
        """Optuna's trials of `records` (of the last load), as a sampler or Optuna's tools learn
        from them: a replayed trial is made into the `FrozenTrial` Optuna's replay gives."""
        return [self._frozen(self._loaded[r.number]) for r in records]

    def _frozen(self, trial: FrozenTrial | JournalTrial) -> FrozenTrial:
        if not isinstance(trial, JournalTrial):
            return trial
        from optuna.trial import FrozenTrial, TrialState

        return FrozenTrial(
            number=trial.number,
            state=TrialState(trial.state),
            value=None,
            values=None if trial.values is None else list(trial.values),
            datetime_start=_optuna_time(trial.datetime_start),
            datetime_complete=_optuna_time(trial.datetime_complete),
            params=dict(trial.params),
            distributions={k: self._distribution(t) for k, t in trial.distributions.items()},
            user_attrs=dict(trial.user_attrs),
            system_attrs=dict(trial.system_attrs),
            intermediate_values=dict(trial.intermediate_values),
            trial_id=trial.trial_id,
        )

    def _distribution(self, text: str) -> BaseDistribution:
        """A distribution of its text, made once (a study's trials share a few)."""
        made = self._distributions.get(text)
        if made is None:
            from optuna.distributions import json_to_distribution

            made = self._distributions[text] = json_to_distribution(text)
        return made


def _trial_id(trial: FrozenTrial | JournalTrial) -> int:
    """A trial's storage id; Optuna's trials hold it as `_trial_id`, the one private attribute
    this module reads (its public lookup re-reads the journal on every call)."""
    found = trial.trial_id if isinstance(trial, JournalTrial) else trial._trial_id
    return int(found)


def _intermediate(values: Mapping[int, Any]) -> dict[int, float]:
    """A copy (a replayed trial's own dict changes as the journal grows), as floats."""
    return {int(step): float(value) for step, value in values.items()} if values else {}


def _values(write: Create) -> list[float] | None:
    return list(write.values) if write.state == State.COMPLETE and write.values else None


def _user_attrs(write: Create) -> dict[str, Any]:
    return {**config_attrs(write.params), **job_attrs(write.job)}


def _system_attrs(write: Create) -> dict[str, Any]:
    """The sampler's attributes and ftsweep's (those that say something)."""
    ours = {
        POSITION: write.position,
        ORIGIN: None if write.origin == "ask" else write.origin,
        SUPERSEDES: write.supersedes,
        PENDING: dict(write.pending) if write.pending is not None else None,
    }
    return {**write.sampler_attrs, **{k: v for k, v in ours.items() if v is not None}}


def _written(moment: datetime) -> str:
    """A time as `create_new_trial` writes it: in UTC, to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _optuna_state(state: State) -> Any:
    from optuna.trial import TrialState

    return TrialState[state.name]


def _optuna_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else optuna_time(moment)


def _utc(moment: datetime | None) -> datetime | None:
    """A trial's time as the records' aware UTC: Optuna's trials hold naive local times, a
    replayed trial's times as written (aware, in UTC, when ftsweep wrote them: then this is
    quick)."""
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

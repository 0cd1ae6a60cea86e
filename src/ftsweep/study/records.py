"""A sweep's trials as typed, frozen records, and the typed writes that change them.

These are what the trial store (`ftsweep.study.store`) loads and applies; every other module of
ftsweep works on them and never on Optuna. A record holds what a trial means to the sweep:

- `number`, and `key` (the key of the trial it stands for: a replacement keeps its original's)
- `params`: the configuration, every dimension as requested; None for a trial plain Optuna added
  that stands for no configuration of the sweep (a *foreign* trial)
- `state` and `values` (one per objective, once complete)
- `origin` (ask or import), `position` (its place in a static strategy's sequence),
  `supersedes` (the trial a forced result replaced), `discarded` (why it is not part of the
  sweep), `pending` (the batch it waits in, see `ftsweep.study.delivery`)
- `job`: what is known of its job (`JobRecord`)
- `started`, `completed`: aware UTC times
- `intermediate_values`: Optuna's intermediate values, the sweep's prune metric by progress
  (examples trained: step x batch size), as `sync` read them from the job's metric events
- `pruned`: where the trial was judged hopeless and what stopping its job saves (`Pruned`); on
  a running trial it is a decision whose cancel has not been seen through yet

A write says what should change, not how: `Create`, `Finish`, `Discard`, `RecordJob` (the job
facts a trial does not hold yet), `Report` (intermediate values), `MarkPruned` (a decision to
prune), `Deliver` (a batch reached its reader) and `RememberFile` (a data file's id on the
service, by content). The store applies a list of them all or nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from ftsweep.api.hyperparameters import AUTO
from ftsweep.sweep.space import Params

__all__ = [
    "Create",
    "Deliver",
    "Discard",
    "Finish",
    "JobRecord",
    "MarkPruned",
    "Pruned",
    "RecordJob",
    "RememberFile",
    "Report",
    "Scalar",
    "State",
    "TrialRecord",
    "Write",
    "current",
]

Scalar = str | int | float | bool


class State(enum.StrEnum):
    """A trial's state, in Optuna's words (lower case)."""

    RUNNING = "running"
    WAITING = "waiting"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAIL = "fail"

    @property
    def finished(self) -> bool:
        return self in (State.COMPLETE, State.PRUNED, State.FAIL)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """What is known of a trial's job; None where nothing is known yet.

    `status` is the service's own word (`running`, `succeeded`, ...); `resolved` holds the
    hyperparameters as the service resolved them; `created_at` and `finished_at` are the
    service's Unix times. `submitter` and `submitted_at` say which process (`host:pid`) set out
    to create the job and when (Unix time): a trial that has them and no `id` may have a job on
    the service whose answer was lost, so it is looked up there before another create.
    `estimated_tokens` and `estimated_cost` are what the trial was expected to train and cost
    when it was handed out, `actual_cost` what its job cost once the service reported what it
    trained (`ftsweep.data.cost`).
    """

    id: str | None = None
    status: str | None = None
    trained_tokens: int | None = None
    fine_tuned_model: str | None = None
    error: str | None = None
    created_at: int | None = None
    finished_at: int | None = None
    resolved: Mapping[str, Scalar] = field(default_factory=dict)
    submitter: str | None = None
    submitted_at: int | None = None
    estimated_tokens: int | None = None
    estimated_cost: float | None = None
    actual_cost: float | None = None

    def merged(self, newer: JobRecord) -> JobRecord:
        """This record with every fact `newer` knows taking the place of this one's."""
        if newer == _UNKNOWN:
            return self
        return JobRecord(
            _newer(newer.id, self.id),
            _newer(newer.status, self.status),
            _newer(newer.trained_tokens, self.trained_tokens),
            _newer(newer.fine_tuned_model, self.fine_tuned_model),
            _newer(newer.error, self.error),
            _newer(newer.created_at, self.created_at),
            _newer(newer.finished_at, self.finished_at),
            {**self.resolved, **newer.resolved} if newer.resolved else self.resolved,
            _newer(newer.submitter, self.submitter),
            _newer(newer.submitted_at, self.submitted_at),
            _newer(newer.estimated_tokens, self.estimated_tokens),
            _newer(newer.estimated_cost, self.estimated_cost),
            _newer(newer.actual_cost, self.actual_cost),
        )

    def facts(self) -> dict[str, Any]:
        """The known facts, by name (`resolved` as a dict, when any)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["resolved"] = dict(self.resolved) or None
        return {name: value for name, value in out.items() if value is not None}

    def __bool__(self) -> bool:
        return bool(self.facts())


_UNKNOWN = JobRecord()


def _newer(value: Any, old: Any) -> Any:
    return old if value is None else value


@dataclass(frozen=True, slots=True)
class Pruned:
    """Where a trial was judged hopeless (`ftsweep.study.pruning`): `step` is its job's step at
    the last value judged, `progress` the examples it had trained there (step x batch size),
    `value` the prune metric there; `saved_tokens` and `saved_cost` estimate what the rest of
    the job would have trained and cost (None: it cannot be estimated, for want of local
    training data or a price)."""

    step: int
    progress: int
    value: float
    saved_tokens: int | None = None
    saved_cost: float | None = None


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One trial of a sweep's study, as loaded; see the module docstring."""

    number: int
    key: str
    params: Params | None
    state: State
    values: tuple[float, ...] | None = None
    origin: str = "ask"
    position: int | None = None
    supersedes: int | None = None
    discarded: str | None = None
    pending: Mapping[str, Any] | None = None
    job: JobRecord = field(default_factory=JobRecord)
    started: datetime | None = None
    completed: datetime | None = None
    shows_config: bool = True  # whether its configuration is stored as `config.*` attributes
    intermediate_values: Mapping[int, float] = field(default_factory=dict)
    pruned: Pruned | None = None

    @property
    def original(self) -> int:
        """The number of the trial this one stands for: its own, or the one it supersedes."""
        return self.number if self.supersedes is None else self.supersedes

    @property
    def live(self) -> bool:
        """Part of the sweep: not discarded (a proposal or batch that was never handed out)."""
        return self.discarded is None

    @property
    def foreign(self) -> bool:
        """Added by plain Optuna: it stands for no configuration of the sweep."""
        return self.params is None

    @property
    def counts(self) -> bool:
        """Counts against `max_trials`: a live trial of the sweep's own that replaces none."""
        return self.live and not self.foreign and self.supersedes is None

    @property
    def trained(self) -> Params | None:
        """The configuration its job trained: each "auto" as the number the service resolved it
        to, where the job reported one; else as requested (None for a foreign trial)."""
        if self.params is None or not self.job.resolved:
            return self.params
        out = dict(self.params)
        for name, value in self.params.items():
            number = self.job.resolved.get(name)
            if value == AUTO and isinstance(number, int | float) and not isinstance(number, bool):
                out[name] = number
        return out


def current(records: list[TrialRecord]) -> list[TrialRecord]:
    """The trials that make up the sweep, in the order of the trials they stand for: each live
    original trial, or its latest live replacement."""
    found: dict[int, TrialRecord] = {}
    for record in records:
        if not record.live:
            continue
        held = found.get(record.original)
        if held is None or record.number > held.number:
            found[record.original] = record
    return sorted(found.values(), key=lambda r: r.original)


@dataclass(frozen=True, slots=True)
class Create:
    """A new trial, written whole. `sampler_attrs` are the system attributes a sampler keeps
    its state in (CMA-ES, NSGA-II); `supersedes` makes it the replacement of that trial; `number`,
    when given, is the number the writer expects it to get (later writes of the same apply name
    it): another one refuses the whole apply."""

    params: Params
    state: State = State.RUNNING
    values: tuple[float, ...] | None = None
    origin: str = "ask"
    position: int | None = None
    supersedes: int | None = None
    pending: Mapping[str, Any] | None = None
    job: JobRecord = field(default_factory=JobRecord)
    sampler_attrs: Mapping[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    completed: datetime | None = None
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """Finish a running trial; `completed` (aware) defaults to the time of the write."""

    number: int
    state: State
    values: tuple[float, ...] | None = None
    completed: datetime | None = None


@dataclass(frozen=True, slots=True)
class Discard:
    """Take a running trial out of the sweep (failed, with the reason): it no longer counts."""

    number: int
    reason: str


@dataclass(frozen=True, slots=True)
class RecordJob:
    """Store what is known of a trial's job; only facts the trial does not hold are written.
    `config` also stores the trial's configuration (for trials made before trials held it)."""

    number: int
    job: JobRecord
    config: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """A running trial's intermediate values, as Optuna's `trial.report` sets them: `values` by
    step (here progress: examples trained). Only values the trial does not already hold as they
    are get written, so reporting the same curve again writes nothing."""

    number: int
    values: Mapping[int, float]


@dataclass(frozen=True, slots=True)
class MarkPruned:
    """A running trial was judged hopeless: where, and what stopping it saves. Written before its
    job is cancelled, so that a command killed in between leaves the decision to the next sync;
    `Finish(number, State.PRUNED)` follows once the job is seen cancelled."""

    number: int
    pruned: Pruned


@dataclass(frozen=True, slots=True)
class Deliver:
    """A handed-out batch reached its reader: its pending trials are no longer reclaimable."""

    batch: str


@dataclass(frozen=True, slots=True)
class RememberFile:
    """A data file was uploaded: its id on the service, by the sha256 of its content, so that
    every process sharing the study reuses it while the content stays the same."""

    sha256: str
    file_id: str


Write = Create | Finish | Discard | RecordJob | Report | MarkPruned | Deliver | RememberFile

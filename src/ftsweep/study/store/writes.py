"""Writing many trial updates at once.

Optuna's journal storage appends one log line and re-reads the journal for every call, which
caps telling at a few hundred trials a second. `TrialWrites` collects the updates of a whole
results file and, on ftsweep's journal file, appends them with one `JournalFile.append_logs`
call: one framed, all-or-nothing write and one fsync under the journal's lock, in Optuna's own
record format (the records `set_trial_user_attr`, `set_trial_system_attr`,
`set_trial_intermediate_value` and `set_trial_state_values` write, built in `journal_format.py`),
without importing Optuna. Attributes and intermediate values are written before states, since a
finished trial takes no more writes. On Optuna's RDB
storage (PostgreSQL, SQLite) they are applied in one transaction (`ftsweep.study.store.rdb`), and on
any other storage through Optuna's public storage API one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ftsweep.study.store.journal_file import JournalFile

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = ["TrialWrites"]


@dataclass(slots=True)
class _Update:
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    intermediate: dict[int, float] = field(default_factory=dict)  # by step
    state: int | None = None  # Optuna's TrialState value (a TrialState is one)
    values: Sequence[float] | None = None
    completed: datetime | None = None  # when the job finished, if the service said; else now


class TrialWrites:
    """Updates to many trials, applied together by `commit`."""

    def __init__(self) -> None:
        self._updates: dict[int, _Update] = {}

    def __len__(self) -> int:
        return len(self._updates)

    def _update(self, trial_id: int) -> _Update:
        update = self._updates.get(trial_id)
        if update is None:
            update = self._updates[trial_id] = _Update()
        return update

    def user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._update(trial_id).user_attrs.update(attrs)

    def system_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._update(trial_id).system_attrs.update(attrs)

    def intermediate(self, trial_id: int, values: Mapping[int, float]) -> None:
        """Set intermediate values of a trial, by step (Optuna's `trial.report`)."""
        self._update(trial_id).intermediate.update(values)

    def finish(
        self,
        trial_id: int,
        state: int,
        values: Sequence[float] | None,
        completed: datetime | None = None,
    ) -> None:
        """Finish a trial; `completed` (aware) is its completion time, by default the commit's.
        Optuna's public API cannot set one, so other storages take the commit's."""
        update = self._update(trial_id)
        update.state, update.values, update.completed = state, values, completed

    def commit(self, target: BaseStorage | JournalFile) -> None:
        """Apply every update to a journal file or a storage: in one journal write, or one
        transaction, where the storage allows it."""
        if not self._updates:
            return
        if isinstance(target, JournalFile):
            _append_journal(target, self._updates)
        else:
            _commit(target, self._updates)
        self._updates = {}


def _commit(storage: BaseStorage, updates: Mapping[int, _Update]) -> None:
    from ftsweep.study.store.journal import JournalFileStorage

    if isinstance(storage, JournalFileStorage):
        _append_journal(storage.journal, updates)
    elif not _one_transaction(storage, updates):
        _one_by_one(storage, updates)


def _append_journal(journal: JournalFile, updates: Mapping[int, _Update]) -> None:
    from ftsweep.study.store.journal_format import (
        intermediate_record,
        now,
        state_record,
        trial_attr_record,
        worker,
    )

    writer = worker()
    time = now()
    logs: list[dict[str, Any]] = []
    for trial_id, update in updates.items():
        for key, value in update.user_attrs.items():
            logs.append(trial_attr_record(writer, trial_id, "user", key, value))
        for key, value in update.system_attrs.items():
            logs.append(trial_attr_record(writer, trial_id, "system", key, value))
        for step, value in update.intermediate.items():
            logs.append(intermediate_record(writer, trial_id, step, value))
        if update.state is not None:
            when = update.completed.isoformat(timespec="microseconds") if update.completed else time
            logs.append(state_record(writer, trial_id, int(update.state), update.values, when))
    journal.append_logs(logs)
    # No replay here: every JournalStorage read replays new records first, so the next read
    # (in this process or any other) sees these; replaying 10,000 updates now would double
    # the cost of a tell whose process usually ends right after.


def _one_transaction(storage: BaseStorage, updates: Mapping[int, _Update]) -> bool:
    from optuna.storages import RDBStorage

    from ftsweep.study.store.rdb import commit_updates

    return isinstance(storage, RDBStorage) and commit_updates(storage, updates)


def _one_by_one(storage: BaseStorage, updates: Mapping[int, _Update]) -> None:
    from optuna.trial import TrialState

    for trial_id, update in updates.items():
        for key, value in update.user_attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        for key, value in update.system_attrs.items():
            storage.set_trial_system_attr(trial_id, key, value)
        for step, value in update.intermediate.items():
            storage.set_trial_intermediate_value(trial_id, step, value)
        if update.state is not None:
            storage.set_trial_state_values(trial_id, TrialState(update.state), update.values)

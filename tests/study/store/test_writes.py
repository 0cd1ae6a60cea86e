"""Many trial updates in one write (`ftsweep.study.store.writes`).

On a journal the updates go in as one append of the journal's own records; elsewhere through
Optuna's public storage API. Either way a fresh reader must see exactly what Optuna's own calls
would have produced.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState, create_trial

from ftsweep.study.store.journal import APPEND, open_journal
from ftsweep.study.store.writes import TrialWrites

DISTRIBUTIONS = {"x": CategoricalDistribution((1, 2, 3))}


def journal(path: Path) -> JournalStorage:
    """ftsweep's journal storage, the one `StorageLocation.open()` gives."""
    return open_journal(path)


def optunas(path: Path) -> JournalStorage:
    """The same file through Optuna's own journal backend."""
    return JournalStorage(JournalFileBackend(str(path)))


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Any]:
    made: list[RDBStorage] = []

    def open_sqlite() -> RDBStorage:
        made.append(RDBStorage(f"sqlite:///{tmp_path / 'writes.db'}"))
        return made[-1]

    yield open_sqlite
    for storage in made:
        storage.engine.dispose()


def running_trials(storage: Any, count: int) -> tuple[int, list[int]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name="w", directions=["minimize"])
    template = create_trial(state=TrialState.RUNNING, params={"x": 1}, distributions=DISTRIBUTIONS)
    ids = [storage.create_new_trial(study._study_id, template_trial=template) for _ in range(count)]
    return study._study_id, ids


def apply(storage: Any, ids: list[int]) -> None:
    writes = TrialWrites()
    writes.user_attrs(ids[0], {"ftsweep": {"job_id": "ftjob-0", "trained_tokens": 10}})
    writes.user_attrs(ids[0], {"note": "first"})
    writes.finish(ids[0], TrialState.COMPLETE, [0.25])
    writes.system_attrs(ids[1], {"ftsweep:discarded": "batch not written"})
    writes.finish(ids[1], TrialState.FAIL, None)
    writes.user_attrs(ids[2], {"ftsweep": {"job_id": "ftjob-2", "job_status": "running"}})
    assert len(writes) == 3
    writes.commit(storage)
    assert len(writes) == 0


def summary(storage: Any, study_id: int) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.state, t.values, t.user_attrs, t.system_attrs, t.datetime_complete is None)
        for t in storage.get_all_trials(study_id)
    ]


EXPECTED = [
    (
        0,
        TrialState.COMPLETE,
        [0.25],
        {"ftsweep": {"job_id": "ftjob-0", "trained_tokens": 10}, "note": "first"},
        {},
        False,
    ),
    (1, TrialState.FAIL, None, {}, {"ftsweep:discarded": "batch not written"}, False),
    (
        2,
        TrialState.RUNNING,
        None,
        {"ftsweep": {"job_id": "ftjob-2", "job_status": "running"}},
        {},
        True,
    ),
]


def test_a_journal_takes_every_update_in_one_append(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    storage = journal(path)
    study_id, ids = running_trials(storage, 3)
    lines = len(path.read_text().splitlines())
    apply(storage, ids)
    # A framing record, then one record per attribute and per state, as Optuna's calls write them.
    written = path.read_text().splitlines()[lines:]
    assert len(written) == 7
    frame = json.loads(written[0])
    body = len("\n".join(written[1:])) + 1
    assert frame["system_attr"] == {APPEND: {"records": 6, "bytes": body}}
    assert summary(storage, study_id) == EXPECTED
    assert summary(journal(path), study_id) == EXPECTED  # a fresh reader sees the same
    assert summary(optunas(path), study_id) == EXPECTED  # and so does Optuna's own backend


def test_the_journal_records_read_as_optunas_own(tmp_path: Path) -> None:
    bulk, own = journal(tmp_path / "bulk.log"), journal(tmp_path / "own.log")
    study_id, ids = running_trials(bulk, 3)
    _, own_ids = running_trials(own, 3)
    apply(bulk, ids)
    own.set_trial_user_attr(own_ids[0], "ftsweep", {"job_id": "ftjob-0", "trained_tokens": 10})
    own.set_trial_user_attr(own_ids[0], "note", "first")
    own.set_trial_state_values(own_ids[0], TrialState.COMPLETE, [0.25])
    own.set_trial_system_attr(own_ids[1], "ftsweep:discarded", "batch not written")
    own.set_trial_state_values(own_ids[1], TrialState.FAIL, None)
    own.set_trial_user_attr(own_ids[2], "ftsweep", {"job_id": "ftjob-2", "job_status": "running"})
    assert summary(optunas(tmp_path / "bulk.log"), study_id) == summary(
        optunas(tmp_path / "own.log"), study_id
    )


def test_a_database_takes_the_updates_in_one_transaction(sqlite: Any) -> None:
    storage = sqlite()
    study_id, ids = running_trials(storage, 3)
    apply(storage, ids)
    assert summary(sqlite(), study_id) == EXPECTED


def test_committing_nothing_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    storage = journal(path)
    running_trials(storage, 1)
    size = path.stat().st_size
    TrialWrites().commit(storage)
    assert path.stat().st_size == size


def test_a_completion_time_is_the_commits(tmp_path: Path) -> None:
    storage = journal(tmp_path / "journal.log")
    study_id, ids = running_trials(storage, 1)
    writes = TrialWrites()
    writes.finish(ids[0], TrialState.COMPLETE, [1.0])
    writes.commit(storage)
    (trial,) = storage.get_all_trials(study_id)
    assert trial.datetime_start is not None and trial.datetime_complete is not None
    assert trial.datetime_complete >= trial.datetime_start
    assert trial.duration is not None


def test_intermediate_values_are_the_records_optunas_setter_writes(tmp_path: Path) -> None:
    bulk_path, own_path = tmp_path / "bulk.log", tmp_path / "own.log"
    bulk, own = journal(bulk_path), optunas(own_path)
    study_id, ids = running_trials(bulk, 2)
    _, own_ids = running_trials(own, 2)
    start = len(bulk_path.read_text().splitlines()), len(own_path.read_text().splitlines())
    writes = TrialWrites()
    writes.intermediate(ids[0], {20: 1.5, 40: 1.25})
    writes.intermediate(ids[1], {20: float("inf")})
    writes.finish(ids[0], TrialState.PRUNED, None)
    writes.commit(bulk)
    own.set_trial_intermediate_value(own_ids[0], 20, 1.5)
    own.set_trial_intermediate_value(own_ids[0], 40, 1.25)
    own.set_trial_state_values(own_ids[0], TrialState.PRUNED, None)
    own.set_trial_intermediate_value(own_ids[1], 20, float("inf"))

    def records(path: Path, skip: int) -> list[dict[str, Any]]:
        logs = [json.loads(line) for line in path.read_text().splitlines()[skip:]]
        return [
            {k: v for k, v in log.items() if k not in ("worker_id", "datetime_complete")}
            for log in logs
            if log.get("worker_id") != APPEND
        ]

    def by_op(logs: list[dict[str, Any]]) -> list[str]:
        return sorted(json.dumps(log, sort_keys=True) for log in logs)

    assert by_op(records(bulk_path, start[0])) == by_op(records(own_path, start[1]))
    assert [t.intermediate_values for t in optunas(bulk_path).get_all_trials(study_id)] == [
        {20: 1.5, 40: 1.25},
        {20: float("inf")},
    ]


def test_a_database_takes_intermediate_values_in_the_transaction(sqlite: Any) -> None:
    storage = sqlite()
    study_id, ids = running_trials(storage, 1)
    writes = TrialWrites()
    writes.intermediate(ids[0], {8: 2.0, 16: float("nan")})
    writes.commit(storage)
    writes.intermediate(ids[0], {16: 1.0, 24: 0.5})  # one value changed, one new
    writes.finish(ids[0], TrialState.COMPLETE, [0.5])
    writes.commit(storage)
    (trial,) = sqlite().get_all_trials(study_id)
    assert trial.intermediate_values == {8: 2.0, 16: 1.0, 24: 0.5}
    assert trial.state == TrialState.COMPLETE

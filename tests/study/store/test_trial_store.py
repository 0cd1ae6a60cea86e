"""The trial store (`ftsweep.study.store.trial_store`): records in, typed writes out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
import pytest

from ftsweep.errors import StudyError
from ftsweep.study import SweepStudy
from ftsweep.study.records import (
    Create,
    Deliver,
    Discard,
    Finish,
    JobRecord,
    MarkPruned,
    Pruned,
    RecordJob,
    Report,
    State,
    Write,
)
from ftsweep.study.store.trial_store import TrialStore
from tests.study.test_study import CONTINUOUS_SPACE, make_study, sweep_text


def test_one_apply_is_one_framed_append_with_every_kind_of_write(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    store = study.store
    with store.lock():
        store.load(write=True)
        numbers = store.apply([Create({"n_epochs": 1, "batch_size": "auto"}, position=0)] * 3)
    assert numbers == [0, 1, 2]
    path = study.location.path
    assert path is not None
    before = path.read_bytes()
    with store.lock():
        store.load(write=True)
        store.apply(
            [
                Create({"n_epochs": 2, "batch_size": 8}, number=3),
                RecordJob(0, JobRecord(id="ftjob-0", status="succeeded")),
                Finish(0, State.COMPLETE, (0.5,)),
                Discard(1, "batch not written"),
                RecordJob(3, JobRecord(id="ftjob-3")),
                Deliver("b1"),
            ]
        )
    appended = path.read_bytes()[len(before) :].splitlines()
    assert b'"worker_id":"ftsweep:append"' in appended[0]  # one frame holds all of it
    assert b'"records":' + str(len(appended) - 1).encode() in appended[0]
    snapshot = study.store.load()
    trials = snapshot.trials
    assert [t.state for t in trials] == ["complete", "fail", "running", "running"]
    assert (trials[0].values, trials[0].job.id) == ((0.5,), "ftjob-0")
    assert trials[1].discarded == "batch not written" and not trials[1].counts
    assert (trials[3].params, trials[3].job.id) == ({"n_epochs": 2, "batch_size": 8}, "ftjob-3")
    assert snapshot.delivered == {"b1"}


def test_an_apply_that_fails_writes_nothing_and_the_store_reads_on(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply([Create({"n_epochs": 1, "batch_size": "auto"})])
    path = study.location.path
    assert path is not None
    before = path.read_bytes()
    wrong = Create({"n_epochs": 2, "batch_size": 8}, number=7)  # the study would number it 2
    with study.store.lock(), pytest.raises(StudyError, match="got number 2, not 7"):
        study.store.load(write=True)
        study.store.apply([Create({"n_epochs": 3, "batch_size": 8}), wrong])
    assert path.read_bytes() == before
    assert [t.number for t in study.store.load().trials] == [0]
    assert [a.number for a in study.ask(1)] == [1]


def test_trials_plain_optuna_added_do_not_use_up_max_trials(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 2\n"))
    study.store.load(write=True)
    raw = optuna.load_study(study_name="s", storage=study.store.storage)
    raw.enqueue_trial({"x": 1.0})
    raw.ask()  # a trial ftsweep did not make: it stands for no configuration of the sweep
    assert [t.foreign for t in study.trials()] == [True]
    assert len(study.ask(2)) == 2
    assert study.ask(1).shortfall is not None


def test_a_store_that_never_loaded_writes_to_its_study(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(1)
    fresh = TrialStore(study.sweep)
    with fresh.lock():
        fresh.apply([Deliver("b1"), Discard(0, "gone")])
    snapshot = TrialStore(study.sweep).load()
    assert (snapshot.delivered, snapshot.trials[0].discarded) == ({"b1"}, "gone")


START = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
END = datetime(2026, 1, 2, 4, 0, 0, tzinfo=UTC)
MULTI = "objective:\n  - {metric: full_valid_loss}\n  - {metric: trained_tokens}\n"
JOB = JobRecord(id="ftjob-1", status="succeeded", trained_tokens=10, resolved={"n_epochs": 2})
#: Sweeps, and new trials of every kind: handed out, imported, replacing, a sampler's.
NEW_TRIALS: dict[str, tuple[str, list[Create]]] = {
    "a grid": (
        sweep_text(),
        [
            Create({"n_epochs": 1, "batch_size": "auto"}, position=0, pending={"batch": "b"}),
            Create({"n_epochs": 2, "batch_size": 8}, State.COMPLETE, (0.5,), "import", job=JOB),
            Create({"n_epochs": 2, "batch_size": 8}, State.FAIL, supersedes=1, number=2),
        ],
    ),
    "ranges, two objectives": (
        sweep_text(strategy="random", space=CONTINUOUS_SPACE, extra=MULTI),
        [
            Create({"learning_rate_multiplier": 0.5, "n_epochs": 3}, sampler_attrs={"g": 1}),
            Create({"learning_rate_multiplier": "auto", "n_epochs": 9}, State.COMPLETE, (0.5, 7)),
        ],
    ),
}


@pytest.mark.parametrize(("text", "creates"), NEW_TRIALS.values(), ids=NEW_TRIALS.keys())
def test_a_new_trial_on_a_journal_is_the_record_optuna_writes(
    tmp_path: Path, text: str, creates: list[Create]
) -> None:
    """ftsweep writes a new trial's record itself; Optuna's storage, given the template trial,
    writes the same one (but for the worker): the store writes through it where its replay does
    not follow the journal."""
    timed = [
        replace(c, started=START, completed=END if c.state.finished else None) for c in creates
    ]

    def written(directory: Path, *, by_optuna: bool) -> tuple[list[int], list[str]]:
        """The new trials' numbers, and their records as JSON text (3.0 is not 3) but the worker."""
        directory.mkdir()
        study = make_study(directory, text)
        study.store._replays = not by_optuna  # False: new trials go through Optuna's storage
        with study.store.lock():
            study.store.load(write=True)
            numbers = study.store.apply(timed)
        assert study.location.path is not None
        logs = [json.loads(line) for line in study.location.path.read_bytes().splitlines()]
        new = [{k: v for k, v in log.items() if k != "worker_id"} for log in logs[-len(timed) :]]
        return numbers, [json.dumps(log) for log in new]

    assert written(tmp_path / "a", by_optuna=False) == written(tmp_path / "b", by_optuna=True)


# -- intermediate values and pruning ----------------------------------------------------------


@pytest.fixture(params=["journal", "sqlite", "postgresql"])
def storage(tmp_path: Path, request: pytest.FixtureRequest) -> str | None:
    """The default journal file, a SQLite file, or a fresh PostgreSQL database (skipped
    without a server)."""
    if request.param == "journal":
        return None
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    return str(request.getfixturevalue("postgres_url"))


def optuna_view(study: SweepStudy) -> list[tuple[str, dict[int, float]]]:
    """Each trial's state and intermediate values as Optuna's own storage reads them: its
    journal backend, or a fresh RDB storage."""
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    path = study.location.path
    if path is not None:
        storage: Any = JournalStorage(JournalFileBackend(str(path)))
    else:
        storage = RDBStorage(study.location.url)
    found = optuna.load_study(study_name="s", storage=storage)
    trials = [(t.state.name, t.intermediate_values) for t in found.get_trials()]
    if path is None:
        storage.engine.dispose()
    return trials


def applied(study: SweepStudy, writes: list[Write]) -> None:
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply(writes)


def test_reported_values_are_optunas_intermediate_values_written_once(
    tmp_path: Path, storage: str | None
) -> None:
    study = make_study(tmp_path, sweep_text(), storage)
    study.ask(2)
    applied(study, [Report(0, {20: 1.5, 40: 1.25}), Report(1, {20: 2.0})])
    assert [t.intermediate_values for t in study.trials()] == [{20: 1.5, 40: 1.25}, {20: 2.0}]
    assert optuna_view(study) == [("RUNNING", {20: 1.5, 40: 1.25}), ("RUNNING", {20: 2.0})]
    size = study.location.path.stat().st_size if study.location.path else None
    applied(study, [Report(0, {20: 1.5, 40: 1.25})])  # a sync that read the same curve again
    if study.location.path is not None:
        assert study.location.path.stat().st_size == size  # nothing appended
    applied(study, [Report(0, {40: 1.25, 60: 1.0}), Report(1, {20: 1.75})])  # one new, one moved
    assert optuna_view(study) == [
        ("RUNNING", {20: 1.5, 40: 1.25, 60: 1.0}),
        ("RUNNING", {20: 1.75}),
    ]
    assert study.trials()[0].intermediate_values == {20: 1.5, 40: 1.25, 60: 1.0}
    study.close()


def test_a_pruned_trial_keeps_where_it_stopped_and_optuna_sees_it_pruned(
    tmp_path: Path, storage: str | None
) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 3\n"), storage)
    study.ask(2)
    where = Pruned(step=40, progress=320, value=1.25, saved_tokens=9000, saved_cost=0.045)
    applied(study, [Report(0, {160: 1.5, 320: 1.25}), MarkPruned(0, where)])
    decided = study.trials()[0]
    assert (decided.state, decided.pruned) == (State.RUNNING, where)  # decided, not yet done
    applied(study, [RecordJob(0, JobRecord(id="ftjob-0", status="cancelled"))])
    applied(study, [Finish(0, State.PRUNED)])
    pruned, running = study.trials()
    assert (pruned.state, pruned.pruned, pruned.values) == (State.PRUNED, where, None)
    assert pruned.intermediate_values == {160: 1.5, 320: 1.25} and pruned.counts
    assert running.pruned is None
    assert optuna_view(study)[0] == ("PRUNED", {160: 1.5, 320: 1.25})
    # Samplers learn from it as Optuna's own pruned trial: state and intermediate values.
    frozen = study.store.optuna_trials(study.trials())[0]
    assert (frozen.state.name, frozen.intermediate_values) == ("PRUNED", {160: 1.5, 320: 1.25})
    assert len(study.ask(5)) == 1  # it counts towards max_trials
    study.close()


def test_a_curve_and_the_finish_it_ends_with_are_one_append_optuna_replays(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(1)
    path = study.location.path
    assert path is not None
    before = path.read_bytes()
    applied(study, [Finish(0, State.COMPLETE, (0.5,)), Report(0, {8: 2.0, 16: 0.5})])
    appended = path.read_bytes()[len(before) :].splitlines()
    assert b'"records":3' in appended[0]  # the frame, two values, then the state
    assert [json.loads(line)["op_code"] for line in appended[1:]] == [7, 7, 6]
    assert optuna_view(study) == [("COMPLETE", {8: 2.0, 16: 0.5})]
    assert study.trials()[0].intermediate_values == {8: 2.0, 16: 0.5}


def test_a_finished_trial_takes_no_intermediate_values(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(1)
    applied(study, [Finish(0, State.FAIL)])
    path = study.location.path
    assert path is not None
    size = path.stat().st_size
    applied(study, [Report(0, {8: 2.0})])  # read while the job ran, told late: dropped
    assert path.stat().st_size == size and study.trials()[0].intermediate_values == {}

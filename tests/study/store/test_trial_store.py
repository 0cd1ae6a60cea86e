"""The trial store (`ftsweep.study.store.trial_store`): records in, typed writes out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import optuna
import pytest

from ftsweep.errors import StudyError
from ftsweep.study.records import Create, Deliver, Discard, Finish, JobRecord, RecordJob, State
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

"""The trial store (`ftsweep.study.store.trial_store`): records in, typed writes out."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from ftsweep.errors import StudyError
from ftsweep.study.records import Create, Deliver, Discard, Finish, JobRecord, RecordJob, State
from tests.study.test_study import make_study, sweep_text


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

"""Optuna on a real PostgreSQL: two processes adding trials to one study at once."""

from __future__ import annotations

import multiprocessing
from typing import Any

import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

pytestmark = pytest.mark.postgres

N_PER_WORKER = 25
N_WORKERS = 2
STUDY_NAME = "parallel-writers"

DISTRIBUTIONS = {
    "learning_rate_multiplier": FloatDistribution(0.01, 10.0, log=True),
    "n_epochs": IntDistribution(1, 10),
    "batch_size": CategoricalDistribution([8, 16, 32, 64]),
}


def _add_trials(url: str, worker: int, barrier: Any) -> None:
    """Child-process body (spawn): ask/tell N_PER_WORKER trials into the shared study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    try:
        study = optuna.load_study(
            study_name=STUDY_NAME,
            storage=storage,
            sampler=optuna.samplers.RandomSampler(seed=worker),
        )
        barrier.wait(timeout=60)  # both processes write at the same time
        for i in range(N_PER_WORKER):
            trial = study.ask(DISTRIBUTIONS)
            trial.set_user_attr("worker", worker)
            study.tell(trial, float(worker * 1000 + i))
    finally:
        storage.remove_session()
        storage.engine.dispose()


def test_two_processes_add_trials_with_distinct_numbers(postgres_url: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(postgres_url)
    try:
        optuna.create_study(study_name=STUDY_NAME, storage=storage)

        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(N_WORKERS)
        procs = [
            ctx.Process(target=_add_trials, args=(postgres_url, w, barrier))
            for w in range(N_WORKERS)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        assert [p.exitcode for p in procs] == [0] * N_WORKERS

        # Read back through a fresh storage object, not the one that created the study.
        reader = optuna.storages.RDBStorage(postgres_url)
        try:
            trials = optuna.load_study(study_name=STUDY_NAME, storage=reader).get_trials(
                deepcopy=False
            )
        finally:
            reader.remove_session()
            reader.engine.dispose()

        total = N_PER_WORKER * N_WORKERS
        assert len(trials) == total
        numbers = [t.number for t in trials]
        assert len(set(numbers)) == total
        assert sorted(numbers) == list(range(total))
        assert len({t._trial_id for t in trials}) == total
        assert all(t.state == TrialState.COMPLETE for t in trials)
        for w in range(N_WORKERS):
            mine = [t for t in trials if t.user_attrs["worker"] == w]
            assert len(mine) == N_PER_WORKER
            expected_values = [float(w * 1000 + i) for i in range(N_PER_WORKER)]
            assert sorted(t.value for t in mine if t.value is not None) == expected_values
            assert all(set(t.params) == set(DISTRIBUTIONS) for t in mine)
    finally:
        storage.remove_session()
        storage.engine.dispose()

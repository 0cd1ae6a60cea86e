"""A whole tell in one transaction on Optuna's RDB storage (`ftsweep.study.store.rdb`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftsweep.study import SweepStudy, tell
from ftsweep.study.store.writes import TrialWrites
from tests.study.test_study import make_study, optuna_trials, result, sweep_text

SPACE = "  n_epochs: {low: 1, high: 50}\n  batch_size: [auto, 8]\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A SQLite file, or a fresh PostgreSQL database (skipped without a server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    return str(request.getfixturevalue("postgres_url"))


def asked(tmp_path: Path, url: str, n: int) -> SweepStudy:
    study = make_study(tmp_path, sweep_text(space=SPACE), url)
    study.ask(n)
    return study


def test_a_tell_is_one_transaction_that_optuna_reads_back(tmp_path: Path, url: str) -> None:
    import optuna

    study = asked(tmp_path, url, 20)
    report = tell(study, [result(trial=n, values={"full_valid_loss": n / 10}) for n in range(20)])
    assert report.finished == 20
    storage = optuna.storages.RDBStorage(url)  # Optuna's own, fresh
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    storage.engine.dispose()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 20
    assert [t.values for t in trials] == [[n / 10] for n in range(20)]
    assert all(t.duration is not None and 0 <= t.duration.total_seconds() < 600 for t in trials)
    study.close()


def test_a_failing_update_leaves_nothing_of_the_transaction(tmp_path: Path, url: str) -> None:
    """All or nothing: an update of a finished trial in the middle undoes the ones before it."""
    from optuna.trial import TrialState

    study = asked(tmp_path, url, 3)
    ids = [t._trial_id for t in optuna_trials(study)]
    study.store.storage.set_trial_state_values(ids[1], TrialState.COMPLETE, [1.0])
    writes = TrialWrites()
    for trial_id in ids:
        writes.user_attrs(trial_id, {"note": "told"})
        writes.finish(trial_id, TrialState.COMPLETE, [0.5])
    with pytest.raises(RuntimeError):
        writes.commit(study.store.storage)
    trials = optuna_trials(study)
    assert [t.state.name for t in trials] == ["RUNNING", "COMPLETE", "RUNNING"]
    assert not any("note" in t.user_attrs for t in trials)
    study.close()


def test_completion_times_are_right_in_any_time_zone(tmp_path: Path) -> None:
    """The column holds naive UTC: a local time written there is hours off outside UTC."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path[:0] = sys.argv[1:2]\n"
        "from tests.study.store.test_rdb import check_durations; check_durations(sys.argv[2])\n"
    )
    root = Path(__file__).resolve().parents[2]
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):
        done = subprocess.run(
            [sys.executable, "-c", code, str(root), str(tmp_path / zone.replace("/", "-"))],
            env={**os.environ, "TZ": zone},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr


def check_durations(directory: str) -> None:
    import optuna

    folder = Path(directory)
    folder.mkdir()
    url = f"sqlite:///{folder / 'studies.db'}"
    study = asked(folder, url, 3)
    tell(study, [result(trial=n, values={"full_valid_loss": 0.5}) for n in range(3)])
    study.close()
    storage = optuna.storages.RDBStorage(url)
    for trial in optuna.load_study(study_name="s", storage=storage).get_trials():
        assert trial.duration is not None and 0 <= trial.duration.total_seconds() < 600, trial
    storage.engine.dispose()

"""Optuna's own tools read a sweep's study: `optuna.load_study`, `trials_dataframe()`,
`FrozenTrial.duration` and the `optuna` CLI, on the default journal file, SQLite and PostgreSQL.

A sweep's trials carry their configuration and job as flat, scalar user attributes
(`ftsweep.study.store.attrs`), so these tools show them as columns (`user_attrs_config.n_epochs`,
`user_attrs_job.status`, ...) that a dashboard can sort and filter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from ftsweep.study import SweepStudy, tell

from .test_study import make_study, result, sweep_text

SPACE = "  n_epochs: [1, 2]\n  batch_size: [auto, 8]\n  learning_rate_multiplier: 1.5\n"
TRIALS = 4


def told(study: SweepStudy) -> SweepStudy:
    """Four trials asked; three told (one failed), one running with its job."""
    study.ask(TRIALS)
    tell(
        study,
        [
            result(trial=0, job_id="ftjob-0", values={"full_valid_loss": 0.5}, trained_tokens=10),
            result(trial=1, job_id="ftjob-1", values={"full_valid_loss": 0.25}, trained_tokens=20),
            result(trial=2, job_id="ftjob-2", status="failed", error="bad file"),
            result(trial=3, job_id="ftjob-3", status="running", resolved={"n_epochs": 2}),
        ],
    )
    return study


@pytest.fixture(params=["journal", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    return None if request.param == "journal" else f"sqlite:///{tmp_path / 'optuna.db'}"


@pytest.fixture
def study(tmp_path: Path, storage: str | None) -> Iterator[SweepStudy]:
    with make_study(tmp_path, sweep_text(space=SPACE), storage) as made:
        yield told(made)


def optuna_storage(study: SweepStudy) -> Any:
    """The study's storage as Optuna alone opens it: its URL, or its journal file."""
    url = study.location.url
    if url.startswith("sqlite"):
        return optuna.storages.RDBStorage(url)
    assert study.location.path is not None
    backend = optuna.storages.journal.JournalFileBackend(str(study.location.path))
    return optuna.storages.JournalStorage(backend)


def loaded(study: SweepStudy) -> optuna.Study:
    """The study as Optuna alone loads it: by name, from its storage's URL or journal file."""
    url = study.location.url
    if url.startswith("sqlite"):
        return optuna.load_study(study_name=study.name, storage=url)
    return optuna.load_study(study_name=study.name, storage=optuna_storage(study))


def check_dataframe(raw: optuna.Study) -> None:
    frame = raw.trials_dataframe()
    assert list(frame["number"]) == list(range(TRIALS))
    assert list(frame["user_attrs_config.n_epochs"]) == [1, 1, 2, 2]
    assert list(frame["user_attrs_config.batch_size"]) == ["auto", 8, "auto", 8]
    assert list(frame["user_attrs_config.learning_rate_multiplier"]) == [1.5] * TRIALS  # fixed
    assert list(frame["user_attrs_job.id"]) == [f"ftjob-{n}" for n in range(TRIALS)]
    assert list(frame["user_attrs_job.status"]) == ["succeeded", "succeeded", "failed", "running"]
    assert list(frame["user_attrs_job.trained_tokens"].fillna(-1)) == [10, 20, -1, -1]
    assert frame["user_attrs_job.error"][2] == "bad file"
    assert frame["user_attrs_resolved.n_epochs"][3] == 2
    assert list(frame["state"]) == ["COMPLETE", "COMPLETE", "FAIL", "RUNNING"]
    assert not any(isinstance(v, dict) for v in frame.to_dict("list").values())


def check_trials(raw: optuna.Study) -> None:
    for trial in raw.get_trials():
        if trial.state.is_finished():
            assert trial.duration is not None and trial.duration.total_seconds() >= 0
        else:
            assert trial.duration is None
        assert all(isinstance(v, str | int | float | bool) for v in trial.user_attrs.values())


def test_optuna_reads_the_study(study: SweepStudy) -> None:
    raw = loaded(study)
    check_dataframe(raw)
    check_trials(raw)
    assert raw.best_trial.user_attrs["job.id"] == "ftjob-1"


def optuna_cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "optuna"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "optuna"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_the_optuna_cli_lists_the_trials_of_a_sqlite_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    with make_study(tmp_path, sweep_text(space=SPACE), url) as study:
        told(study)
    listed = optuna_cli("trials", "--study-name", "s", "--storage", url, "-f", "json")
    assert listed.returncode == 0, listed.stderr
    trials: list[dict[str, Any]] = json.loads(listed.stdout)
    assert [t["number"] for t in trials] == list(range(TRIALS))
    assert [t["user_attrs"]["job.id"] for t in trials] == [f"ftjob-{n}" for n in range(TRIALS)]
    assert trials[1]["user_attrs"]["config.batch_size"] == 8
    best = optuna_cli("best-trial", "--study-name", "s", "--storage", url, "-f", "json")
    assert best.returncode == 0, best.stderr


def test_optuna_reads_the_study_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    with make_study(tmp_path, sweep_text(space=SPACE), postgres_url) as study:
        told(study)
    storage = optuna.storages.RDBStorage(postgres_url)
    try:
        raw = optuna.load_study(study_name="s", storage=storage)
        check_dataframe(raw)
        check_trials(raw)
    finally:
        storage.remove_session()
        storage.engine.dispose()


def dashboard_get(app: Any, path: str, query: str = "") -> dict[str, Any]:
    """GET a path of optuna-dashboard's WSGI app; its JSON answer."""
    import io

    answered: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    body = b"".join(app(environ, lambda status, headers, exc=None: answered.append(status)))
    assert answered == ["200 OK"], body[:500]
    found: dict[str, Any] = json.loads(body)
    return found


def test_optuna_dashboard_shows_the_metric_configuration_and_job(study: SweepStudy) -> None:
    """optuna-dashboard's own API, over the storage as Optuna alone opens it: the objective's
    name, each trial's state, value, configuration and job as sortable attributes."""
    from optuna_dashboard import wsgi

    storage = optuna_storage(study)
    app = wsgi(storage)
    summaries = dashboard_get(app, "/api/studies")["study_summaries"]
    assert [s["study_name"] for s in summaries] == ["s"]
    detail = dashboard_get(app, f"/api/studies/{summaries[0]['study_id']}", "after=0")
    assert detail["objective_names"] == ["full_valid_loss"]
    trials = detail["trials"]
    assert [t["state"] for t in trials] == ["Complete", "Complete", "Fail", "Running"]
    assert [t["values"] for t in trials[:2]] == [[0.5], [0.25]]
    attrs = [{a["key"]: a["value"] for a in t["user_attrs"]} for t in trials]
    assert [a["config.n_epochs"] for a in attrs] == ["1", "1", "2", "2"]
    assert [a["config.learning_rate_multiplier"] for a in attrs] == ["1.5"] * TRIALS
    assert [a["job.id"] for a in attrs] == [f"ftjob-{n}" for n in range(TRIALS)]
    assert (attrs[2]["job.error"], attrs[3]["resolved.n_epochs"]) == ("bad file", "2")
    if hasattr(storage, "engine"):
        storage.remove_session()
        storage.engine.dispose()

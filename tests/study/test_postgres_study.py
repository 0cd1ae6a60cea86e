"""A sweep's study on PostgreSQL: the ask/tell loop, and many workers on one sweep.

Each test gets a fresh, empty database (`postgres_url`, tests/study/conftest.py): skipped
locally unless FTSWEEP_TEST_POSTGRES_URL is set, a failure under CI=true. The concurrency
scenarios are the ones test_concurrency.py runs on the default journal file, here with the
workers' trials allocated under PostgreSQL's advisory lock; the workers start on the empty
database, so they also race to create Optuna's tables and the study.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftsweep.study import SweepStudy, best_records, read_results, tell, trials_frame
from ftsweep.study.store.storage import ENV_VAR
from ftsweep.sweep import load_sweep
from ftsweep.sweep.space import configuration_key

from .test_concurrency import (
    CONTINUOUS_SPACE,
    closing_studies,
    grid_scenario,
    max_trials_scenario,
    open_study,
    reads_scenario,
    tells_scenario,
    tpe_scenario,
    write_sweep,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def no_env_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def opened() -> Iterator[list[SweepStudy]]:
    """Studies a test opens; their connections are released before the database is dropped."""
    with closing_studies() as studies:
        yield studies


LOOP_RESULTS = [  # (status, full_valid_loss, trained_tokens, error)
    ("succeeded", 0.412, 1843200, ""),
    ("succeeded", 0.367, 1228800, ""),
    ("failed", None, None, "invalid_training_file: line 812"),
    ("succeeded", 0.455, 3072000, ""),
]


def _results_csv(path: Path, keys: list[str]) -> Path:
    rows = ["ftsweep_trial,job_id,status,full_valid_loss,trained_tokens,error"]
    for key, (status, loss, tokens, error) in zip(keys, LOOP_RESULTS, strict=True):
        shown = "" if loss is None else repr(loss)
        rows.append(f"{key},ftjob-{key},{status},{shown},{tokens or ''},{error}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_loop_on_postgresql(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    """ask, tell a CSV, ask again, the trials frame and the best trial, all in PostgreSQL."""
    path = write_sweep(tmp_path, name="pg-loop", strategy="tpe", space=CONTINUOUS_SPACE)
    study = open_study(path, postgres_url, opened)
    first = study.ask(4)
    assert [a.number for a in first] == [0, 1, 2, 3]
    assert [a.key for a in first] == [f"pg-loop-{n:04d}" for n in range(4)]
    assert all(a.body["metadata"]["ftsweep_trial"] == a.key for a in first)
    assert not (tmp_path / ".ftsweep").exists()  # nothing in the default journal

    results = _results_csv(tmp_path / "r.csv", [a.key for a in first])
    report = tell(study, read_results(results, study.sweep.objectives))
    assert (report.finished, report.unknown) == (4, [])
    again = tell(study, read_results(results, study.sweep.objectives))
    assert (again.finished, again.unchanged) == (0, 4)  # telling twice changes nothing

    second = study.ask(4)
    assert [a.number for a in second] == [4, 5, 6, 7]
    configs = {configuration_key(a.params) for a in first + second}
    assert len(configs) == 8

    # A fresh study object (another worker, say) sees it all.
    fresh = open_study(path, postgres_url, opened)
    frame = trials_frame(fresh)
    assert list(frame["number"]) == list(range(8))
    assert list(frame["state"]) == ["complete", "complete", "fail", "complete"] + ["running"] * 4
    assert frame["full_valid_loss"].tolist()[:2] == [0.412, 0.367]
    assert frame.loc[2, "error"] == "invalid_training_file: line 812"
    assert frame.loc[0, "job_id"] == "ftjob-pg-loop-0000"
    assert frame["trained_tokens"].tolist()[:2] == [1843200, 1228800]
    assert frame.loc[0, "completed"] is not None
    best = best_records(fresh)
    assert [(b["key"], b["full_valid_loss"]) for b in best] == [("pg-loop-0001", 0.367)]


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ftsweep", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_the_cli_loop_with_storage(tmp_path: Path, postgres_url: str) -> None:
    """The same loop through `ftsweep ... --storage URL`."""
    path = write_sweep(tmp_path, name="pg-cli", strategy="tpe", space=CONTINUOUS_SPACE)
    db = ["--storage", postgres_url]
    _cli("ask", path, "-n", "4", "-o", tmp_path / "b1.jsonl", *db)
    keys = [
        json.loads(line)["metadata"]["ftsweep_trial"]
        for line in (tmp_path / "b1.jsonl").read_text().splitlines()
    ]
    assert keys == [f"pg-cli-{n:04d}" for n in range(4)]
    told = _cli("tell", path, _results_csv(tmp_path / "r.csv", keys), *db)
    assert "4 finished" in told.stderr
    _cli("ask", path, "-n", "4", "-o", tmp_path / "b2.jsonl", *db)
    assert len((tmp_path / "b2.jsonl").read_text().splitlines()) == 4
    rows = list(csv.DictReader(io.StringIO(_cli("trials", path, "-f", "csv", *db).stdout)))
    assert [r["key"] for r in rows] == [f"pg-cli-{n:04d}" for n in range(8)]
    assert [r["state"] for r in rows] == ["complete"] * 2 + ["fail", "complete"] + ["running"] * 4
    assert "pg-cli-0001" in _cli("best", path, *db).stdout
    assert not (tmp_path / ".ftsweep").exists()


# -- many workers, one sweep --------------------------------------------------------------


def test_concurrent_grid_asks_hand_out_every_point_once(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    grid_scenario(tmp_path, postgres_url, opened)


def test_concurrent_tpe_asks_and_tells_give_distinct_configurations(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    tpe_scenario(tmp_path, postgres_url, opened, rounds=2)  # 24 trials: RDB asks are slower


def test_concurrent_asks_respect_max_trials(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    max_trials_scenario(tmp_path, postgres_url, opened)


def test_concurrent_tpe_asks_respect_max_trials(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    max_trials_scenario(tmp_path, postgres_url, opened, strategy="tpe")


def test_concurrent_tells_of_disjoint_trials_lose_nothing(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    tells_scenario(tmp_path, postgres_url, opened)


def test_reading_trials_while_workers_ask(
    tmp_path: Path, postgres_url: str, opened: list[SweepStudy]
) -> None:
    reads_scenario(tmp_path, postgres_url, opened)


OPEN_AT_ONCE = """
import sys, time
from ftsweep.study import SweepStudy
from ftsweep.sweep import load_sweep
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
with SweepStudy(load_sweep(sys.argv[1]), sys.argv[2]) as study:
    print(len(study.ask(1)))
"""


@pytest.mark.parametrize("round_", range(3))
def test_processes_opening_a_fresh_database_at_once_all_succeed(
    tmp_path: Path, postgres_url: str, round_: int
) -> None:
    """Eight processes make Optuna's tables on an empty database at the same instant: all but
    one find the winner's tables half made (a duplicate type on PostgreSQL), and try again."""
    import time

    path = write_sweep(tmp_path, space=CONTINUOUS_SPACE, strategy="random")
    start = str(time.time() + 3.0)  # every interpreter is up and waiting by then
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(path), postgres_url, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outcomes = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0] * 8, [err for _, err in outcomes]
    assert [out.strip() for out, _ in outcomes] == ["1"] * 8
    with SweepStudy(load_sweep(path), postgres_url) as study:
        assert len(study.trials()) == 8

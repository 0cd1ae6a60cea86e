"""The study commands through typer's CliRunner: ask, tell, import, trials, best, importance."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ftsweep.cli import app
from ftsweep.study import SweepStudy, trials_frame
from ftsweep.sweep import load_sweep

runner = CliRunner()

MODEL = "gpt-4.1-mini-2025-04-14"
SWEEP = f"""\
name: s
method: supervised
model: {MODEL}
training_file: file-train
validation_file: file-valid
strategy: grid
max_trials: 4
space:
  n_epochs: [1, 2, 3]
  batch_size: [auto, 8]
job:
  suffix: "s-{{trial}}"
"""


@pytest.fixture(autouse=True)
def no_env_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTSWEEP_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables on one line each


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP)
    return path


def run(*args: object, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=env)


def frame(sweep: Path, storage: str | None = None) -> pd.DataFrame:
    return trials_frame(SweepStudy(load_sweep(sweep), storage))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def asked(sweep: Path, n: int) -> None:
    result = run("ask", sweep, "-n", n, "-o", sweep.parent / "batch.jsonl")
    assert result.exit_code == 0, result.output


# --- ask ------------------------------------------------------------------------------------


def test_ask_writes_job_bodies_to_stdout(sweep: Path) -> None:
    result = run("ask", sweep, "-n", 2)
    assert result.exit_code == 0, result.output
    assert result.stderr == "s: 2 trial(s): s-0000, s-0001\n"
    bodies = [json.loads(line) for line in result.stdout.splitlines()]
    assert bodies == [
        {
            "model": MODEL,
            "training_file": "file-train",
            "validation_file": "file-valid",
            "suffix": f"s-{number:04d}",
            "metadata": {"ftsweep_sweep": "s", "ftsweep_trial": f"s-{number:04d}"},
            "method": {
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": batch}},
            },
        }
        for number, batch in ((0, "auto"), (1, 8))
    ]


def test_ask_writes_a_file(sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "batch.jsonl"
    result = run("ask", sweep, "-n", 3, "-o", out)
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == (
        "",
        f"s: 3 trial(s) to {out}: s-0000, s-0001, s-0002\n",
    )
    bodies = [json.loads(line) for line in out.read_text().splitlines()]
    assert [b["metadata"]["ftsweep_trial"] for b in bodies] == ["s-0000", "s-0001", "s-0002"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".batch")] == []


def test_ask_says_when_it_hands_out_fewer(sweep: Path) -> None:
    asked(sweep, 3)
    result = run("ask", sweep, "-n", 3)
    assert result.exit_code == 0
    assert result.stderr == "s: 1 trial(s) of 3 asked for (max_trials (4) reached): s-0003\n"
    assert len(result.stdout.splitlines()) == 1


def test_ask_when_max_trials_is_reached(sweep: Path) -> None:
    asked(sweep, 4)
    result = run("ask", sweep, "-n", 2)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == "s: no trial handed out: max_trials (4) reached\n"


def test_ask_when_the_space_is_exhausted(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", SWEEP.replace("max_trials: 4\n", ""))
    asked(path, 6)
    result = run("ask", path)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        "s: no trial handed out: every one of the space's 6 configurations was tried\n"
    )


def test_a_space_used_up_before_max_trials_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", SWEEP.replace("max_trials: 4", "max_trials: 10"))
    asked(path, 5)
    result = run("ask", path, "-n", 3)
    assert result.exit_code == 0
    assert result.stderr == (
        "s: 1 trial(s) of 3 asked for (every one of the space's 6 configurations was tried): "
        "s-0005\n"
    )


def test_a_long_batch_is_summarised_by_its_first_and_last_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.yaml",
        SWEEP.replace("max_trials: 4\n", "").replace("[1, 2, 3]", "{low: 1, high: 50}"),
    )
    result = run("ask", path, "-n", 60, "-o", tmp_path / "b.jsonl")
    assert result.exit_code == 0
    assert result.stderr == f"s: 60 trial(s) to {tmp_path / 'b.jsonl'}: s-0000 ... s-0059\n"


def test_ask_whose_batch_cannot_be_written_leaves_no_running_trial(
    sweep: Path, tmp_path: Path
) -> None:
    out = tmp_path / "missing" / "batch.jsonl"
    result = run("ask", sweep, "-n", 2, "-o", out)
    assert result.exit_code == 1
    assert result.stderr == f"error: {out}: cannot be written: No such file or directory\n"
    assert not out.exists()
    assert len(frame(sweep)) == 0
    trials = SweepStudy(load_sweep(sweep)).trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert all(t.discarded is not None for t in trials)
    # Nothing counted: the whole budget and the same first points are still there.
    again = run("ask", sweep, "-n", 4)
    assert again.stderr == "s: 4 trial(s): s-0002, s-0003, s-0004, s-0005\n"
    first = json.loads(again.stdout.splitlines()[0])
    assert first["method"]["supervised"]["hyperparameters"] == {"n_epochs": 1, "batch_size": "auto"}


def test_ask_of_an_invalid_sweep_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", SWEEP.replace("[1, 2, 3]", "[0, 2, 3]"))
    result = run("ask", path)
    assert result.exit_code == 2
    assert "space.n_epochs[0]: must be an integer from 1 to 50, or 'auto' (got 0)" in result.stderr
    assert not (tmp_path / ".ftsweep").exists()


# --- tell -----------------------------------------------------------------------------------

RESULTS = """\
ftsweep_trial,status,full_valid_loss,trained_tokens,error
s-0000,succeeded,0.41,1843200,
s-0001,failed,,,invalid_training_file: line 812
s-0009,succeeded,0.3,,
"""


def test_tell_prints_a_summary(sweep: Path, tmp_path: Path) -> None:
    asked(sweep, 3)
    path = write(tmp_path / "results.csv", RESULTS)
    result = run("tell", sweep, path)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}:4: names no trial of sweep 's' (key s-0009)\n"
        "s: 2 finished (1 failed), 0 updated, 0 unchanged, 0 replaced, 1 row(s) naming no trial\n"
    )
    again = run("tell", sweep, path)
    assert again.stderr.splitlines()[-1] == (
        "s: 0 finished, 0 updated, 2 unchanged, 0 replaced, 1 row(s) naming no trial"
    )
    found = frame(sweep)
    assert list(found["state"]) == ["complete", "fail", "running"]
    assert found["error"][1] == "invalid_training_file: line 812"


def test_tell_refuses_a_conflict_with_exit_2(sweep: Path, tmp_path: Path) -> None:
    asked(sweep, 3)
    run("tell", sweep, write(tmp_path / "first.csv", "trial,full_valid_loss\n0,0.5\n"))
    path = write(tmp_path / "second.csv", "trial,full_valid_loss\n2,0.2\n0,0.6\n")
    result = run("tell", sweep, path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: 1 problem, nothing was told\n"
        f"{path}:3: s-0000: is already complete with full_valid_loss=0.5; tell --force to "
        "replace what the study holds\n"
    )
    assert list(frame(sweep)["state"]) == ["complete", "running", "running"]
    forced = run("tell", sweep, path, "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stderr == (
        "s: 1 finished, 0 updated, 0 unchanged, 1 replaced, 0 row(s) naming no trial\n"
    )
    found = frame(sweep)
    assert list(found["full_valid_loss"].fillna(-1)) == [0.6, -1, 0.2]
    assert found["origin"][0] == "ask (replaced)"


def test_tell_refuses_a_bad_file_and_tells_nothing_of_the_others(
    sweep: Path, tmp_path: Path
) -> None:
    asked(sweep, 2)
    good = write(tmp_path / "good.csv", "trial,full_valid_loss\n0,0.5\n")
    bad = write(tmp_path / "bad.csv", "trial,full_valid_loss\n1,abc\n")
    result = run("tell", sweep, good, bad)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {bad}: 1 problem, nothing was told\n"
        f"{bad}:2: full_valid_loss: must be a finite number (a run that diverged is a failed "
        "row) (got 'abc')\n"
    )
    assert list(frame(sweep)["state"]) == ["running", "running"]


def test_tell_a_job_then_its_step_metrics(sweep: Path, tmp_path: Path) -> None:
    asked(sweep, 1)
    job = {
        "object": "fine_tuning.job",
        "id": "ftjob-1",
        "model": MODEL,
        "status": "succeeded",
        "trained_tokens": 4096,
        "fine_tuned_model": "ft:s-0000",
        "method": {
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 16}},
        },
        "metadata": {"ftsweep_sweep": "s", "ftsweep_trial": "s-0000"},
    }
    result = run("tell", sweep, write(tmp_path / "job.json", json.dumps(job)))
    assert result.stderr == (
        "s: 0 finished, 1 updated, 0 unchanged, 0 replaced, 0 row(s) naming no trial\n"
    )
    steps = write(tmp_path / "steps.csv", "step,train_loss,full_valid_loss\n1,0.9,0.8\n2,0.7,0.6\n")
    for trial in ("0", "s-0000"):
        result = run("tell", sweep, steps, "--trial", trial)
        assert result.exit_code == 0, result.output
    found = frame(sweep)
    assert (found["state"][0], found["full_valid_loss"][0]) == ("complete", 0.6)
    assert (found["trained_tokens"][0], found["resolved_batch_size"][0]) == (4096, 16)


# --- import ---------------------------------------------------------------------------------


def history_job(job_id: str, status: str, **hyperparameters: Any) -> dict[str, Any]:
    return {
        "object": "fine_tuning.job",
        "id": job_id,
        "model": MODEL,
        "status": status,
        "created_at": 1754000000,
        "finished_at": 1754003600,
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
        "metadata": {"team": "history"},
    }


def test_import_adds_jobs_and_tells_their_rows(sweep: Path, tmp_path: Path) -> None:
    jobs = write(
        tmp_path / "history.jsonl",
        json.dumps(history_job("ftjob-a", "succeeded", n_epochs=2, batch_size=8))
        + "\n"
        + json.dumps(history_job("ftjob-b", "succeeded", n_epochs=3, batch_size=32))
        + "\n",
    )
    metrics = write(tmp_path / "metrics.csv", "job_id,full_valid_loss\nftjob-a,0.4\nftjob-b,0.3\n")
    result = run("import", sweep, jobs, metrics)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "note: job ftjob-b: taken as auto: batch_size 32\n"
        "s: 2 job(s) imported, 0 already in the study\n"
        "s: 2 finished, 0 updated, 0 unchanged, 0 replaced, 0 row(s) naming no trial\n"
    )
    found = frame(sweep)
    assert list(found["origin"]) == ["import", "import"]
    assert (found["batch_size"][0], list(found["batch_size_auto"])) == (8, [False, True])
    assert list(found["full_valid_loss"]) == [0.4, 0.3]
    again = run("import", sweep, jobs)
    assert again.stderr == (  # the jobs it has are told again: nothing changed
        "s: 0 job(s) imported, 2 already in the study\n"
        "s: 0 finished, 0 updated, 2 unchanged, 0 replaced, 0 row(s) naming no trial\n"
    )


def test_import_refuses_a_value_outside_the_space(sweep: Path, tmp_path: Path) -> None:
    jobs = write(
        tmp_path / "history.json",
        json.dumps([history_job("ftjob-x", "succeeded", n_epochs=9, batch_size=8)]),
    )
    result = run("import", sweep, jobs)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {jobs}: 1 problem, nothing was imported\n"
        f"{jobs}:1: job.ftjob-x: n_epochs 9 is outside the sweep's space (one of 1, 2, 3)\n"
    )
    assert len(frame(sweep)) == 0


# --- trials, best, importance ---------------------------------------------------------------


@pytest.fixture
def told(sweep: Path, tmp_path: Path) -> Path:
    """Four trials of the sweep, three of them complete."""
    asked(sweep, 4)
    path = write(
        tmp_path / "results.csv",
        "trial,full_valid_loss,trained_tokens\n0,0.5,1000\n1,0.3,2000\n2,0.4,1500\n",
    )
    assert run("tell", sweep, path).exit_code == 0
    return sweep


def test_trials_table(told: Path) -> None:
    result = run("trials", told)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "s"
    assert "4 trial(s)" in lines[-1]
    assert [line.split("│")[1].strip() for line in lines if line.startswith("│")] == [
        "0",
        "1",
        "2",
        "3",
    ]
    header = next(line for line in lines if line.startswith("┃"))
    assert [cell.strip() for cell in header.split("┃")[1:-1]] == [
        "trial",
        "state",
        "n_epochs",
        "batch_size",
        "full_valid_loss",
        "trained_tokens",
        "job_status",
    ]


def test_trials_table_into_a_pipe_is_plain_text(
    told: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a terminal: every trial, the table's columns and cells, aligned without rich."""
    monkeypatch.delenv("COLUMNS")
    result = run("trials", told)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "s",
        "trial  state     n_epochs  batch_size  full_valid_loss  trained_tokens  job_status",
        "    0  complete         1        auto              0.5            1000  succeeded",
        "    1  complete         1           8              0.3            2000  succeeded",
        "    2  complete         2        auto              0.4            1500  succeeded",
        "    3  running          2           8",
        "4 trial(s)",
    ]
    out = told.parent / "trials.txt"
    assert run("trials", told, "-o", out).exit_code == 0
    assert out.read_text() == result.stdout


def table_keys(result: Result) -> list[str]:
    return [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line]


def test_trials_table_on_a_terminal_shows_the_last_trials(
    told: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ftsweep.cli.loop.TABLE_TRIALS", 3)  # COLUMNS is set: a terminal
    result = run("trials", told)
    assert result.exit_code == 0, result.output
    assert table_keys(result) == ["1", "2", "3"]
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[-2:] == [
        "the last 3 of 4 trials",
        "1 earlier trial(s) not shown; --all shows all (or -f csv)",
    ]
    assert table_keys(run("trials", told, "--all")) == ["0", "1", "2", "3"]
    limited = run("trials", told, "--limit", "2")
    assert table_keys(limited) == ["2", "3"] and "2 earlier trial(s)" in limited.stdout
    monkeypatch.delenv("COLUMNS")  # a pipe: every trial unless --limit
    assert "not shown" not in run("trials", told).stdout


def test_trials_limit_keeps_the_last_trials_in_every_format(told: Path) -> None:
    result = run("trials", told, "-f", "csv", "-n", "2")
    assert [line.split(",")[1] for line in result.stdout.splitlines()] == [
        "key",
        "s-0002",
        "s-0003",
    ]
    both = run("trials", told, "--limit", "2", "--all")
    assert (both.exit_code, both.stderr) == (1, "error: give --limit or --all, not both\n")


def test_trials_csv_to_stdout(told: Path) -> None:
    result = run("trials", told, "--format", "csv")
    assert result.exit_code == 0, result.output
    back = pd.read_csv(io.StringIO(result.stdout))
    assert list(back.columns) == list(frame(told).columns)
    assert list(back["key"]) == ["s-0000", "s-0001", "s-0002", "s-0003"]
    assert list(back["full_valid_loss"].fillna(-1)) == [0.5, 0.3, 0.4, -1]


def test_trials_json_to_a_file(told: Path, tmp_path: Path) -> None:
    out = tmp_path / "trials.json"
    result = run("trials", told, "-f", "json", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote 4 trials to {out}\n"
    records = json.loads(out.read_text())
    assert [r["state"] for r in records] == ["complete", "complete", "complete", "running"]
    assert [r["batch_size"] for r in records] == ["auto", 8, "auto", 8]


def test_trials_parquet_needs_a_file(told: Path, tmp_path: Path) -> None:
    result = run("trials", told, "-f", "parquet")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "error: parquet is binary: write it to a file with -o FILE\n"
    out = tmp_path / "trials.parquet"
    result = run("trials", told, "-f", "parquet", "-o", out)
    assert result.exit_code == 0, result.output
    back = pd.read_parquet(out)
    assert list(back["key"]) == ["s-0000", "s-0001", "s-0002", "s-0003"]
    assert list(back["batch_size"].fillna(-1)) == [-1, 8, -1, 8]
    assert list(back["batch_size_auto"]) == [True, False, True, False]
    assert list(back["trained_tokens"].fillna(-1)) == [1000, 2000, 1500, -1]


def test_trials_of_a_sweep_without_trials(sweep: Path) -> None:
    unwritten = run("ask", sweep, "-n", 2, "-o", sweep.parent / "missing" / "batch.jsonl")
    assert unwritten.exit_code == 1  # the study exists, its two trials are discarded
    result = run("trials", sweep, "-f", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [",".join(frame(sweep).columns)]
    assert json.loads(run("trials", sweep, "-f", "json").stdout) == []


@pytest.mark.parametrize("command", ["trials", "best", "importance"])
def test_reading_a_sweep_that_has_no_study_creates_nothing(sweep: Path, command: str) -> None:
    result = run(command, sweep)
    assert (result.exit_code, result.stdout) == (2, "")
    journal = sweep.parent / ".ftsweep" / "journal.log"
    assert result.stderr == (
        f"error: journal:{journal} holds no study of sweep 's': nothing has been asked or "
        f"imported yet (ftsweep ask {sweep})\n"
    )
    assert not (sweep.parent / ".ftsweep").exists()


def test_trials_are_read_while_another_process_holds_the_ask_lock(sweep: Path) -> None:
    """Reading needs no lock: every trial is written whole, so none is ever seen half made."""
    import subprocess
    import sys

    asked(sweep, 2)
    study = SweepStudy(load_sweep(sweep))
    with study.location.lock("s"):
        done = subprocess.run(
            [sys.executable, "-m", "ftsweep", "trials", str(sweep), "-f", "csv"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3


def test_best(told: Path) -> None:
    result = run("best", told)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "s: best trial"
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows == [["1", "1", "8", "0.3", "2000"]]


def test_best_of_several_objectives_is_the_pareto_front(tmp_path: Path) -> None:
    text = SWEEP + "objective:\n  - {metric: full_valid_loss}\n  - {metric: trained_tokens}\n"
    sweep = write(tmp_path / "s.yaml", text)
    asked(sweep, 3)
    path = write(
        tmp_path / "r.csv",
        "trial,full_valid_loss,trained_tokens\n0,0.5,1000\n1,0.3,2000\n2,0.6,3000\n",
    )
    assert run("tell", sweep, path).exit_code == 0
    result = run("best", sweep)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].strip() == "s: Pareto front"
    keys = [
        line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")
    ]
    assert keys == ["0", "1"]


def test_best_without_results(sweep: Path) -> None:
    asked(sweep, 1)
    result = run("best", sweep)
    assert result.exit_code == 1
    assert result.stderr == "error: sweep 's' has no completed trial yet: tell results first\n"


def test_importance(told: Path) -> None:
    result = run("importance", told)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "s: parameter importances"
    header = next(line for line in lines if line.startswith("┃"))
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["parameter", "full_valid_loss"]
    rows = {line.split("│")[1].strip() for line in lines if line.startswith("│")}
    assert rows == {"n_epochs", "batch_size"}


def test_importance_needs_two_results(sweep: Path) -> None:
    asked(sweep, 1)
    result = run("importance", sweep)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: sweep 's' has 0 completed trial(s): importances need at least two\n"
    )


# --- storage --------------------------------------------------------------------------------


def test_storage_option_with_a_journal_path(sweep: Path, tmp_path: Path) -> None:
    journal = tmp_path / "elsewhere" / "studies.log"
    result = run("ask", sweep, "-n", 2, "--storage", journal)
    assert result.exit_code == 0, result.output
    assert journal.stat().st_size > 0
    assert not (tmp_path / ".ftsweep").exists()
    assert len(frame(sweep, str(journal))) == 2
    listed = run("trials", sweep, "-f", "csv", "--storage", f"journal:{journal}")
    assert len(listed.stdout.splitlines()) == 3
    assert run("trials", sweep, "-f", "csv").exit_code == 2  # the default storage holds none


def test_storage_option_with_sqlite(sweep: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    assert run("ask", sweep, "-n", 2, "--storage", url).exit_code == 0
    results = write(tmp_path / "r.csv", "trial,full_valid_loss\n0,0.5\n")
    told = run("tell", sweep, results, "--storage", url)
    assert told.stderr.startswith("s: 1 finished,")
    listed = run("trials", sweep, "-f", "json", "--storage", url)
    assert [r["state"] for r in json.loads(listed.stdout)] == ["complete", "running"]
    assert (tmp_path / "studies.db").exists()
    assert not (tmp_path / ".ftsweep").exists()


def test_storage_from_the_environment(sweep: Path, tmp_path: Path) -> None:
    journal = tmp_path / "env.journal"
    env = {"FTSWEEP_STORAGE": str(journal)}
    assert run("ask", sweep, "-n", 1, env=env).exit_code == 0
    assert journal.exists() and not (tmp_path / ".ftsweep").exists()
    listed = run("trials", sweep, "-f", "csv", env=env)
    assert len(listed.stdout.splitlines()) == 2
    # --storage wins over the environment.
    other = tmp_path / "other.log"
    assert run("ask", sweep, "--storage", other, env=env).stderr == "s: 1 trial(s): s-0000\n"


def test_an_invalid_storage_is_refused(sweep: Path) -> None:
    result = run("ask", sweep, "--storage", "studies.db")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: storage 'studies.db' is neither a journal file (*.log, *.journal, journal:PATH) "
        "nor a database URL (sqlite:///PATH, postgresql+psycopg://USER@HOST/DB)\n"
    )


def test_an_unreachable_database_is_an_error_not_a_traceback(sweep: Path) -> None:
    url = "postgresql+psycopg://ann:s3cret@127.0.0.1:1/sweeps?connect_timeout=2"
    for command in ("ask", "trials"):
        result = run(command, sweep, "--storage", url)
        assert result.exit_code == 1, command
        assert result.stderr.startswith("error: storage postgresql+psycopg://ann:***@127.0.0.1:1/")
        assert "s3cret" not in result.output


def test_an_empty_batch_empties_an_earlier_output_file(sweep: Path) -> None:
    """`ftsweep ask S -o b.jsonl && submit b.jsonl` must never submit the last batch again."""
    batch = sweep.parent / "batch.jsonl"
    assert run("ask", sweep, "-n", 4, "-o", batch).exit_code == 0
    assert len(batch.read_text().splitlines()) == 4
    result = run("ask", sweep, "-n", 2, "-o", batch)
    assert result.exit_code == 3
    assert result.stderr == f"s: no trial handed out to {batch}: max_trials (4) reached\n"
    assert batch.read_bytes() == b""


# --- tell: rows that contradict themselves ---------------------------------------------------


def test_tell_refuses_a_number_and_a_key_naming_different_trials(
    sweep: Path, tmp_path: Path
) -> None:
    asked(sweep, 3)
    path = write(
        tmp_path / "r.csv", "trial,ftsweep_trial,full_valid_loss\n0,s-0000,0.5\n2,s-0001,0.4\n"
    )
    result = run("tell", sweep, path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: 1 problem, nothing was told\n"
        f"{path}:3: ftsweep_trial: s-0001 (trial 1) and trial 2 name different trials: correct "
        "one, or give only one\n"
    )
    assert list(frame(sweep)["state"]) == ["running"] * 3


def test_tell_refuses_two_rows_that_disagree_naming_both(sweep: Path, tmp_path: Path) -> None:
    asked(sweep, 2)
    path = write(tmp_path / "r.csv", "trial,full_valid_loss\n0,0.5\n1,0.4\n0,0.6\n")
    result = run("tell", sweep, path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: 1 problem, nothing was told\n"
        f"{path}:4: s-0000: told two results: complete with full_valid_loss=0.5 at {path}:2, "
        f"complete with full_valid_loss=0.6 at {path}:4; keep the right one\n"
    )
    assert list(frame(sweep)["state"]) == ["running", "running"]


def test_tell_fails_when_no_row_names_a_trial_of_the_sweep(sweep: Path, tmp_path: Path) -> None:
    asked(sweep, 1)
    path = write(tmp_path / "r.csv", "ftsweep_trial,full_valid_loss\nt-0000,0.5\nt-0001,0.4\n")
    result = run("tell", sweep, path)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: nothing was told: no row names a trial of sweep 's'\n"
        f"{path}:2: names no trial of sweep 's' (key t-0000)\n"
        f"{path}:3: names no trial of sweep 's' (key t-0001)\n"
    )
    assert list(frame(sweep)["state"]) == ["running"]


def test_import_refuses_a_job_on_another_training_file_unless_forced(
    sweep: Path, tmp_path: Path
) -> None:
    other = history_job("ftjob-x", "succeeded", n_epochs=2, batch_size=8)
    jobs = write(tmp_path / "history.json", json.dumps([other | {"training_file": "file-old"}]))
    result = run("import", sweep, jobs)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {jobs}: 1 problem, nothing was imported\n"
        f"{jobs}:1: job.ftjob-x: training_file 'file-old' is not the sweep's ('file-train'): "
        "another experiment; import --force to take it all the same\n"
    )
    assert len(frame(sweep)) == 0
    forced = run("import", sweep, jobs, "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stderr == (
        "note: job ftjob-x: training_file 'file-old' is not the sweep's ('file-train'): imported "
        "all the same (--force)\n"
        "s: 1 job(s) imported, 0 already in the study\n"
    )
    assert list(frame(sweep)["job_id"]) == ["ftjob-x"]


def test_tell_refuses_a_row_with_more_fields_than_the_header(sweep: Path, tmp_path: Path) -> None:
    asked(sweep, 2)
    path = write(tmp_path / "r.csv", "trial,full_valid_loss\n0,0.5\n1,0,4\n")
    result = run("tell", sweep, path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: 1 problem, nothing was told\n"
        f"{path}:3: (top level): row has 3 fields, the header 2\n"
    )
    assert list(frame(sweep)["state"]) == ["running", "running"]


def test_trials_and_best_read_a_study_on_a_read_only_mount(told: Path) -> None:
    """Reading takes no lock and writes nothing, so a study on a read-only mount can be read."""
    import subprocess
    import sys

    from tests.study.store.test_storage import read_only_mount

    prefix = read_only_mount(told.parent)
    for args in (["trials", "-f", "csv"], ["best"]):
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "ftsweep", args[0], str(told), *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode, done.stderr) == (0, ""), args
    assert len(done.stdout.splitlines()) > 1


@pytest.fixture
def with_foreign(told: Path) -> Path:
    """The told sweep plus three trials plain Optuna added (numbers 4 to 6): one with no
    parameters, one with another study's, one with a value outside the sweep's space."""
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution

    with SweepStudy(load_sweep(told)) as study:
        raw = optuna.load_study(study_name="s", storage=study.store.storage)
        raw.tell(raw.ask(), 0.1)
        raw.tell(raw.ask({"x": FloatDistribution(0, 1)}), 0.2)
        raw.add_trial(
            optuna.trial.create_trial(
                params={"n_epochs.other": 50},
                distributions={"n_epochs.other": IntDistribution(1, 100)},
                value=0.05,
            )
        )
    return told


NOT_SHOWN = "note: 3 trials were not made by ftsweep and are not shown: 4, 5, 6\n"


@pytest.mark.parametrize("format", ["table", "csv", "json"])
def test_trials_leaves_out_trials_plain_optuna_added_with_a_note(
    with_foreign: Path, format: str
) -> None:
    result = run("trials", with_foreign, "-f", format)
    assert result.exit_code == 0, result.output
    assert result.stderr == NOT_SHOWN
    if format == "json":
        assert [r["number"] for r in json.loads(result.stdout)] == [0, 1, 2, 3]


def test_best_and_importance_leave_out_trials_plain_optuna_added(with_foreign: Path) -> None:
    best = run("best", with_foreign)
    assert (best.exit_code, best.stderr) == (0, NOT_SHOWN)
    lines = best.stdout.splitlines()
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows == [["1", "1", "8", "0.3", "2000"]]  # not the better values of 4 to 6
    importance = run("importance", with_foreign)
    assert (importance.exit_code, importance.stderr) == (0, NOT_SHOWN)

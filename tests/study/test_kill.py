"""A `tell` or `ask` killed with SIGKILL at any moment leaves a study every command reads, and a
killed tell has told all of its file or none of it: rerunning it completes the work."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app
from ftsweep.study import SweepStudy
from ftsweep.study.store.journal import JournalFile
from ftsweep.sweep import load_sweep

from .test_study import make_study, sweep_text

ROWS = 10_000  # 20,000 takes twice as long and shows nothing more
SRC = str(Path(__file__).resolve().parents[2] / "src")
SPACE = "  learning_rate_multiplier: {low: 0.05, high: 5.0, log: true}\n"
OBJECTIVE = "objective: {metric: full_valid_loss, direction: minimize}\n"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep with ROWS running trials, built fast: its first trial's record, repeated."""
    directory = tmp_path_factory.mktemp("kill")
    study = make_study(directory, sweep_text(strategy="random", space=SPACE, extra=OBJECTIVE))
    study.ask(1)
    study.close()
    path = study.location.path
    assert path is not None
    create = json.loads(path.read_bytes().splitlines()[-1])
    JournalFile(path).append_logs([create] * (ROWS - 1))
    rows = "".join(f"{n},{0.2 + n % 97 / 100}\n" for n in range(ROWS))
    (directory / "results.csv").write_text("trial,full_valid_loss\n" + rows)
    return directory


def copy_of(pristine: Path, target: Path) -> Path:
    shutil.copytree(pristine, target)
    return target


def ftsweep(*args: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-m", "ftsweep", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def finished(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    _, err = process.communicate()
    return process.returncode, err


def complete_and_half_told(directory: Path) -> tuple[int, int]:
    """Complete trials, and trials that hold what a tell writes (anything but their config
    attributes) but are not complete (half told)."""
    with SweepStudy(load_sweep(directory / "sweep.yaml")) as study:
        trials = study.trials()
    complete = sum(t.state == "complete" for t in trials)
    told = [t for t in trials if t.job]
    half = sum(t.state != "complete" for t in told)
    return complete, half


def commands_work(directory: Path) -> None:
    runner = CliRunner()
    sweep = str(directory / "sweep.yaml")
    for args in (["trials", sweep, "-f", "csv"], ["ask", sweep, "-o", str(directory / "b")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output


@pytest.fixture(scope="module")
def tell_seconds(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    directory = copy_of(pristine, tmp_path_factory.mktemp("measure") / "s")
    start = time.monotonic()
    assert finished(ftsweep("tell", directory / "sweep.yaml", directory / "results.csv"))[0] == 0
    return time.monotonic() - start


def test_a_killed_tell_told_all_or_nothing_and_rerunning_completes_it(
    pristine: Path, tell_seconds: float, tmp_path: Path
) -> None:
    outcomes = set()
    for kill in range(1, 9):
        directory = copy_of(pristine, tmp_path / str(kill))
        sweep, results = directory / "sweep.yaml", directory / "results.csv"
        process = ftsweep("tell", sweep, results)
        time.sleep(tell_seconds * kill / 9)
        process.send_signal(signal.SIGKILL)
        code, err = finished(process)
        assert b"Traceback" not in err
        complete, half = complete_and_half_told(directory)
        assert (complete in (0, ROWS), half) == (True, 0), kill
        outcomes.add(complete if code else "done")
        commands_work(directory)
        assert finished(ftsweep("tell", sweep, results))[0] == 0
        assert complete_and_half_told(directory) == (ROWS, 0)
    assert 0 in outcomes  # some kill landed before the tell's write


def test_a_killed_ask_leaves_a_study_every_command_reads(pristine: Path, tmp_path: Path) -> None:
    for kill, delay in enumerate((0.8, 1.6, 2.4)):
        directory = copy_of(pristine, tmp_path / str(kill))
        process = ftsweep("ask", directory / "sweep.yaml", "-n", "3000", "-o", directory / "b")
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        assert b"Traceback" not in finished(process)[1]
        commands_work(directory)


JOBS = 2_000


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep without trials, JOBS job objects run outside ftsweep and their metrics."""
    directory = tmp_path_factory.mktemp("history")
    make_study(directory, sweep_text(strategy="random", space=SPACE, extra=OBJECTIVE))
    jobs = []
    for n in range(JOBS):
        hyperparameters = {"learning_rate_multiplier": round(0.1 + n / 1000, 3), "n_epochs": 2}
        jobs.append(
            {
                "object": "fine_tuning.job",
                "id": f"ftjob-{n}",
                "model": "gpt-4.1-mini-2025-04-14",
                "status": "succeeded",
                "created_at": 1754000000 + n,
                "finished_at": 1754003600 + n,
                "training_file": "file-train",
                "validation_file": "file-valid",
                "method": {
                    "type": "supervised",
                    "supervised": {"hyperparameters": hyperparameters},
                },
            }
        )
    (directory / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in jobs))
    rows = "".join(f"ftjob-{n},{0.2 + n % 97 / 100}\n" for n in range(JOBS))
    (directory / "metrics.csv").write_text("job_id,full_valid_loss\n" + rows)
    return directory


def imported(directory: Path) -> tuple[int, int]:
    """Trials, and complete trials, of the history's sweep."""
    with SweepStudy(load_sweep(directory / "sweep.yaml")) as study:
        trials = study.trials() if study.location.exists() else []
    return len(trials), sum(t.state == "complete" for t in trials)


def test_a_killed_import_imported_all_or_nothing_and_rerunning_completes_it(
    history: Path, tmp_path: Path
) -> None:
    """The jobs and their metrics are one append: a kill leaves every job imported and told, or
    none of them, and the same import run again imports and tells the rest, once each."""
    arguments = ("import", "sweep.yaml", "jobs.jsonl", "metrics.csv")
    probe = copy_of(history, tmp_path / "probe")
    start = time.monotonic()
    assert finished(ftsweep(arguments[0], *[probe / a for a in arguments[1:]]))[0] == 0
    seconds = time.monotonic() - start
    assert imported(probe) == (JOBS, JOBS)
    outcomes = set()
    for kill in range(1, 7):
        directory = copy_of(history, tmp_path / str(kill))
        files = [directory / a for a in arguments[1:]]
        process = ftsweep(arguments[0], *files)
        time.sleep(seconds * kill / 7)
        process.send_signal(signal.SIGKILL)
        code, err = finished(process)
        assert b"Traceback" not in err
        assert imported(directory) in ((0, 0), (JOBS, JOBS)), kill
        outcomes.add(imported(directory)[0] if code else "done")
        shown = CliRunner().invoke(app, ["trials", str(directory / "sweep.yaml"), "-f", "csv"])
        no_study = shown.exit_code == 2 and "holds no study" in shown.output  # killed that early
        assert (shown.exit_code == 0 or no_study) and "Traceback" not in shown.output
        assert finished(ftsweep(arguments[0], *files))[0] == 0
        assert imported(directory) == (JOBS, JOBS)
    assert 0 in outcomes  # some kill landed before the import's write


def test_a_killed_bayes_ask_hands_out_nothing_twice_and_a_rerun_goes_on(tmp_path: Path) -> None:
    """The adaptive path: a bayes sweep with 16 told trials asked for 400 (each proposal fits
    the model first), killed at several moments. Every command still reads the study, no
    configuration is handed out twice, and a rerun hands out fresh trials."""
    base = tmp_path / "base"
    base.mkdir()
    space = (
        SPACE.replace("log: true}", "log: true, auto: true}") + "  n_epochs: {low: 1, high: 6}\n"
    )
    study = make_study(base, sweep_text(strategy="bayes", space=space, extra=OBJECTIVE))
    asked = study.ask(16)
    study.close()
    rows = "".join(f"{a.number},{0.3 + (a.number * 37 % 17) / 20}\n" for a in asked)
    (base / "told.csv").write_text("trial,full_valid_loss\n" + rows)
    assert finished(ftsweep("tell", base / "sweep.yaml", base / "told.csv"))[0] == 0
    for kill, delay in enumerate((0.6, 1.5, 3.0, 5.0)):
        directory = copy_of(base, tmp_path / str(kill))
        process = ftsweep("ask", directory / "sweep.yaml", "-n", "400", "-o", directory / "b")
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        assert b"Traceback" not in finished(process)[1]
        commands_work(directory)  # trials reads it; ask reclaims and hands out again
        with SweepStudy(load_sweep(directory / "sweep.yaml")) as after:
            live = [t for t in after.trials() if t.live]
            keys = [json.dumps(t.params, sort_keys=True) for t in live]
            assert len(keys) == len(set(keys))  # nothing twice
            assert len(live) > 16 and sum(t.state == "complete" for t in live) == 16

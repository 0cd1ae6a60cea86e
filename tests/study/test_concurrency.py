"""Many workers, one sweep: several processes asking and telling at once (default storage).

Workers are real processes (multiprocessing's spawn context, or `python -m ftsweep`), started
together behind a barrier, so their asks and tells overlap. Whatever the interleaving:

- no two asks hand out the same trial number, key, grid point or configuration;
- `max_trials` holds across all workers together;
- concurrent tells of disjoint trials lose nothing, and a tell racing an ask harms neither.

The helpers here (`write_sweep`, `run_workers`, `write_results`, ...) are shared by the
PostgreSQL versions in test_postgres_study.py. No test asserts on timings.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import NoStudyError
from ftsweep.study import SweepStudy, read_results, tell, trials_frame
from ftsweep.study.store.storage import ENV_VAR
from ftsweep.sweep import load_sweep
from ftsweep.sweep.space import configuration_key
from ftsweep.sweep.strategies import sequence

MODEL = "gpt-4.1-mini-2025-04-14"
#: 3 x 5 x 4 = 60 points.
FINITE_SPACE = (
    "  learning_rate_multiplier: [0.5, 1.0, 2.0]\n"
    "  n_epochs: [1, 2, 3, 4, 5]\n"
    "  batch_size: [auto, 4, 8, 16]\n"
)
CONTINUOUS_SPACE = (
    "  learning_rate_multiplier: {low: 0.1, high: 4, log: true}\n  n_epochs: {low: 1, high: 10}\n"
)
OBJECTIVE = "objective: {metric: full_valid_loss, direction: minimize}\n"
WORKERS = 4
TIMEOUT = 180  # seconds a group of workers may take before the test gives up (never asserted)


@pytest.fixture(autouse=True)
def no_env_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers inherit the environment: keep $FTSWEEP_STORAGE from redirecting them."""
    monkeypatch.delenv(ENV_VAR, raising=False)


# -- helpers (also used by test_postgres_study.py) -----------------------------------------


def write_sweep(
    directory: Path,
    *,
    name: str = "many",
    strategy: str = "grid",
    space: str = FINITE_SPACE,
    extra: str = "",
) -> Path:
    """A supervised sweep file in `directory` (its default storage is beside it)."""
    path = directory / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nmethod: supervised\nmodel: {MODEL}\ntraining_file: file-train\n"
        f"validation_file: file-valid\nstrategy: {strategy}\nseed: 7\n{OBJECTIVE}{extra}"
        f"space:\n{space}"
    )
    return path


def value_of(number: int) -> float:
    """The loss a test reports for trial `number` (exact through CSV: repr round-trips)."""
    return 0.25 + number / 1024


def write_results(path: Path, sweep_name: str, numbers: Iterable[int]) -> Path:
    """A results CSV finishing these trials: succeeded, with loss, tokens and a job id."""
    rows = ["ftsweep_trial,full_valid_loss,trained_tokens,job_id,status"]
    rows += [
        f"{sweep_name}-{n:04d},{value_of(n)!r},{1000 + n},ftjob-{n},succeeded" for n in numbers
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _asked_record(item: Any) -> dict[str, Any]:
    return {
        "number": item.number,
        "key": item.key,
        "config": json.dumps(item.params, sort_keys=True),
        "body_key": item.body["metadata"]["ftsweep_trial"],
    }


def _work(spec: dict[str, Any], barrier: Any) -> dict[str, Any]:
    """A worker's script: `ops` is a list of ("ask", n) and ("tell", csv) steps."""
    try:
        import optuna  # noqa: F401  (imported before the barrier: start-up is not the race)

        sweep = load_sweep(spec["sweep"])
        study = SweepStudy(sweep, spec.get("storage"))
    except BaseException:
        barrier.abort()  # the others stop waiting at once
        raise
    barrier.wait(timeout=TIMEOUT)
    batches: list[list[dict[str, Any]]] = []
    told: list[int] = []
    reads = 0
    for step, (op, arg) in enumerate(spec["ops"]):
        if op == "ask":
            asked = study.ask(int(arg))
            batches.append([_asked_record(a) for a in asked])
            if spec.get("tell_back") and asked:  # report each batch right away: tells race asks
                csv = Path(spec["out"]).with_suffix(f".{step}.csv")
                write_results(csv, sweep.name, [a.number for a in asked])
                tell(study, read_results(csv, sweep.objectives))
                told += [a.number for a in asked]
        elif op == "read":
            reads += _read_until(study, int(arg))
        else:
            results = read_results(arg, sweep.objectives)
            report = tell(study, results)
            assert report.finished == len(results), report
            told += [int(r.ref.value.rpartition("-")[2]) for r in results]
    study.close()
    return {"batches": batches, "told": told, "reads": reads}


def _read_until(study: SweepStudy, rows: int) -> int:
    """Read the trials frame until it has `rows` rows; how many reads it took. A read before the
    first ask made the study finds none (the reader once had pandas' import to wait that out)."""
    deadline = time.monotonic() + TIMEOUT
    reads = 0
    while time.monotonic() < deadline:
        try:
            frame = trials_frame(study)
        except NoStudyError:
            continue
        reads += 1
        assert frame["n_epochs"].notna().all(), frame
        if len(frame) >= rows:
            break
    return reads


def _worker(spec: dict[str, Any], barrier: Any) -> None:
    """A spawned process's body: run `spec`, write its report (or traceback) to spec["out"]."""
    out = Path(spec["out"])
    try:
        report = _work(spec, barrier)
    except BaseException:
        out.write_text(json.dumps({"error": traceback.format_exc()}))
        raise
    out.write_text(json.dumps(report))


def run_workers(specs: Sequence[dict[str, Any]], directory: Path) -> list[dict[str, Any]]:
    """Run one spawned process per spec, all released at once; their reports, in order."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(specs))
    specs = [{**s, "out": str(directory / f"worker-{i}.json")} for i, s in enumerate(specs)]
    procs = [ctx.Process(target=_worker, args=(s, barrier), daemon=True) for s in specs]
    for proc in procs:
        proc.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
    finally:
        hung = [p for p in procs if p.is_alive()]
        for proc in hung:
            proc.kill()
            proc.join()
        for proc in procs:
            proc.close()
    reports = []
    for spec in specs:
        path = Path(spec["out"])
        report = json.loads(path.read_text()) if path.exists() else {"error": "no report"}
        if "error" in report:
            pytest.fail(f"worker {path.name} failed:\n{report['error']}", pytrace=False)
        reports.append(report)
    assert not hung, f"{len(hung)} worker(s) still running after {TIMEOUT} s"
    return reports


def handed_out(reports: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every trial any worker received."""
    return [item for r in reports for batch in r["batches"] for item in batch]


def assert_all_distinct(items: Sequence[dict[str, Any]]) -> None:
    """No trial number, key or configuration was handed out twice."""
    for field in ("number", "key", "config"):
        values = [item[field] for item in items]
        duplicates = sorted({v for v in values if values.count(v) > 1}, key=str)
        assert not duplicates, f"{field} handed out twice: {duplicates[:5]}"
    assert all(item["key"] == item["body_key"] for item in items)


@contextlib.contextmanager
def closing_studies() -> Iterator[list[SweepStudy]]:
    """A list for the studies a test opens, closed afterwards (PostgreSQL connections)."""
    studies: list[SweepStudy] = []
    try:
        yield studies
    finally:
        for study in studies:
            study.close()  # PostgreSQL connections; a no-op for journal files


@pytest.fixture
def opened() -> Iterator[list[SweepStudy]]:
    with closing_studies() as studies:
        yield studies


def open_study(sweep: Path, storage: str | None, opened: list[SweepStudy]) -> SweepStudy:
    study = SweepStudy(load_sweep(sweep), storage)
    opened.append(study)
    return study


def check_told(study: SweepStudy, numbers: Iterable[int]) -> None:
    """Each of these trials is complete, with its value and its job's attributes."""
    trials = {t.number: t for t in study.trials()}
    for number in numbers:
        trial = trials[number]
        assert trial.state.name == "COMPLETE", (number, trial.state)
        assert trial.values == (value_of(number),)
        assert trial.job.id == f"ftjob-{number}"
        assert trial.job.trained_tokens == 1000 + number


# -- scenarios (the PostgreSQL tests run the same ones with a URL) ------------------------


def grid_scenario(tmp_path: Path, storage: str | None, opened: list[SweepStudy]) -> None:
    """4 processes x 3 asks of 5 on a 60-point grid: together, every point exactly once."""
    path = write_sweep(tmp_path, name="grid60")
    specs = [{"sweep": str(path), "storage": storage, "ops": [("ask", 5)] * 3}] * WORKERS
    items = handed_out(run_workers(specs, tmp_path))
    assert len(items) == 60
    assert_all_distinct(items)
    assert sorted(item["number"] for item in items) == list(range(60))
    study = open_study(path, storage, opened)
    grid = {json.dumps(p, sort_keys=True) for p in sequence(study.sweep.space, "grid", 7)}
    assert {item["config"] for item in items} == grid
    trials = study.trials()
    assert sorted(t.position for t in trials) == list(range(60))
    assert study.ask(1) == []  # the grid is used up


def tpe_scenario(
    tmp_path: Path,
    storage: str | None,
    opened: list[SweepStudy],
    rounds: int = 3,
    strategy: str = "tpe",
) -> None:
    """TPE (or bayes) on a 60-configuration space: 4 processes ask `rounds` x 3 and tell each
    batch at once; every configuration handed out is distinct (the sampler soon proposes ones
    already taken), and every tell is kept."""
    path = write_sweep(tmp_path, name="tpe60", strategy=strategy)
    ops = [("ask", 3)] * rounds
    specs = [{"sweep": str(path), "storage": storage, "ops": ops, "tell_back": True}] * WORKERS
    reports = run_workers(specs, tmp_path)
    items = handed_out(reports)
    assert len(items) == WORKERS * rounds * 3
    assert_all_distinct(items)
    told = [n for r in reports for n in r["told"]]
    assert sorted(told) == sorted(item["number"] for item in items)
    study = open_study(path, storage, opened)
    check_told(study, told)
    frame = trials_frame(study)
    assert len(frame) == len(items)
    assert set(frame["state"]) == {"complete"}
    assert len({configuration_key(t.params) for t in _counting(study)}) == len(items)


def max_trials_scenario(
    tmp_path: Path, storage: str | None, opened: list[SweepStudy], strategy: str = "grid"
) -> None:
    """max_trials 20, 4 processes each asking for 10 (5 asks of 2): exactly 20 handed out."""
    path = write_sweep(tmp_path, name="capped", strategy=strategy, extra="max_trials: 20\n")
    specs = [{"sweep": str(path), "storage": storage, "ops": [("ask", 2)] * 5}] * WORKERS
    items = handed_out(run_workers(specs, tmp_path))
    assert len(items) == 20
    assert_all_distinct(items)
    study = open_study(path, storage, opened)
    assert len(_counting(study)) == 20
    assert {t.number for t in _counting(study)} == {item["number"] for item in items}
    assert study.ask(1) == []


def tells_scenario(tmp_path: Path, storage: str | None, opened: list[SweepStudy]) -> None:
    """40 running trials; 4 processes tell 10 each (two files of 5) while a fifth asks 3 x 4:
    all 40 finish with their values, and the asker gets 12 new, distinct trials."""
    path = write_sweep(tmp_path, name="tells")
    study = open_study(path, storage, opened)
    assert [a.number for a in study.ask(40)] == list(range(40))
    specs: list[dict[str, Any]] = []
    for w in range(WORKERS):
        files = [
            write_results(tmp_path / f"results-{w}-{half}.csv", "tells", range(lo, lo + 5))
            for half, lo in enumerate((10 * w, 10 * w + 5))
        ]
        ops = [("tell", str(f)) for f in files]
        specs.append({"sweep": str(path), "storage": storage, "ops": ops})
    specs.append({"sweep": str(path), "storage": storage, "ops": [("ask", 4)] * 3})
    reports = run_workers(specs, tmp_path)
    assert sorted(n for r in reports for n in r["told"]) == list(range(40))
    new = handed_out(reports)
    assert sorted(item["number"] for item in new) == list(range(40, 52))
    fresh = open_study(path, storage, opened)
    check_told(fresh, range(40))
    frame = trials_frame(fresh).set_index("number")
    assert list(frame.index) == list(range(52))
    assert (frame.loc[:39, "state"] == "complete").all()
    assert (frame.loc[40:, "state"] == "running").all()
    assert frame.loc[:39, "full_valid_loss"].tolist() == [value_of(n) for n in range(40)]
    assert len({configuration_key(t.params) for t in _counting(fresh)}) == 52


def _counting(study: SweepStudy) -> list[Any]:
    return [t for t in study.trials() if t.counts]


# -- the default storage: a journal file beside the sweep file ---------------------------


def test_concurrent_grid_asks_hand_out_every_point_once(
    tmp_path: Path, opened: list[SweepStudy]
) -> None:
    grid_scenario(tmp_path, None, opened)
    assert (tmp_path / ".ftsweep" / "journal.log").is_file()


@pytest.mark.parametrize("strategy", ["tpe", "bayes"])
def test_concurrent_tpe_asks_and_tells_give_distinct_configurations(
    tmp_path: Path, opened: list[SweepStudy], strategy: str
) -> None:
    tpe_scenario(tmp_path, None, opened, strategy=strategy)


def test_concurrent_asks_respect_max_trials(tmp_path: Path, opened: list[SweepStudy]) -> None:
    max_trials_scenario(tmp_path, None, opened)


def test_concurrent_tpe_asks_respect_max_trials(tmp_path: Path, opened: list[SweepStudy]) -> None:
    max_trials_scenario(tmp_path, None, opened, strategy="tpe")


def reads_scenario(tmp_path: Path, storage: str | None, opened: list[SweepStudy]) -> None:
    """A reader builds the trials frame over and over while 3 processes ask TPE for 6 x 2:
    every frame it sees is whole (no half-suggested trial breaks it)."""
    path = write_sweep(tmp_path, name="reads", strategy="tpe", space=CONTINUOUS_SPACE)
    asker = {"sweep": str(path), "storage": storage, "ops": [("ask", 2)] * 6}
    reader = {"sweep": str(path), "storage": storage, "ops": [("read", 36)]}
    reports = run_workers([asker, asker, asker, reader], tmp_path)
    assert len(handed_out(reports)) == 36
    assert reports[3]["reads"] >= 1
    assert len(trials_frame(open_study(path, storage, opened))) == 36


def test_reading_trials_while_workers_ask(tmp_path: Path, opened: list[SweepStudy]) -> None:
    reads_scenario(tmp_path, None, opened)


def test_concurrent_tells_of_disjoint_trials_lose_nothing(
    tmp_path: Path, opened: list[SweepStudy]
) -> None:
    tells_scenario(tmp_path, None, opened)


# -- the command line: separate `ftsweep` processes --------------------------------------


def start_cli(*args: str | Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    return subprocess.Popen(
        [sys.executable, "-m", "ftsweep", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish_all(procs: Sequence[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; their stderr. Fails on a non-zero exit."""
    errors = []
    for proc in procs:
        out, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, f"{proc.args}: exit {proc.returncode}\n{out}\n{err}"
        errors.append(err)
    return errors


def read_batch(path: Path) -> list[dict[str, Any]]:
    bodies = [json.loads(line) for line in path.read_text().splitlines()]
    return [
        {
            "key": b["metadata"]["ftsweep_trial"],
            "number": int(b["metadata"]["ftsweep_trial"].rpartition("-")[2]),
            "config": json.dumps(b["method"]["supervised"]["hyperparameters"], sort_keys=True),
            "body_key": b["metadata"]["ftsweep_trial"],
        }
        for b in bodies
    ]


def cli_scenario(tmp_path: Path, storage: str | None, opened: list[SweepStudy]) -> None:
    """3 `ftsweep ask -n 5` at once; then their 3 `ftsweep tell`s racing 3 more asks."""
    path = write_sweep(tmp_path, name="cli")
    where = ["--storage", storage] if storage else []
    first = [tmp_path / f"first-{i}.jsonl" for i in range(3)]
    finish_all([start_cli("ask", path, "-n", "5", "-o", out, *where) for out in first])
    batches = [read_batch(out) for out in first]
    files = [
        write_results(tmp_path / f"r{i}.csv", "cli", [item["number"] for item in batch])
        for i, batch in enumerate(batches)
    ]
    second = [tmp_path / f"second-{i}.jsonl" for i in range(3)]
    procs = [start_cli("tell", path, f, *where) for f in files]
    procs += [start_cli("ask", path, "-n", "5", "-o", out, *where) for out in second]
    messages = finish_all(procs)
    assert all("5 finished" in m for m in messages[:3]), messages
    items = [item for batch in batches for item in batch]
    later = [item for out in second for item in read_batch(out)]
    assert len(items) == len(later) == 15
    assert_all_distinct(items + later)
    assert sorted(item["number"] for item in items + later) == list(range(30))
    study = open_study(path, storage, opened)
    check_told(study, [item["number"] for item in items])


def test_concurrent_cli_asks_and_tells(tmp_path: Path, opened: list[SweepStudy]) -> None:
    cli_scenario(tmp_path, None, opened)

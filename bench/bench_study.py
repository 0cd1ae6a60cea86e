"""Benchmark a sweep's study on the default storage (a journal file), baselines in the same run.

    python bench/bench_study.py            # about two minutes on 2 idle cores
    python bench/bench_study.py --quick    # 2,000 results, a 300-trial TPE study, 1,000 read,
                                           # one repeat

a) tell 10,000 results into a study of 10,000 running trials (a random sweep over a continuous
   space, `SweepStudy.ask(10000)`): `read_results(csv) + tell(...)` on an opened study, `tell`
   alone on records read beforehand, and the whole `ftsweep tell SWEEP results.csv` command,
   against Optuna's own `study.add_trials` of the same 10,000 finished trials (FrozenTrials of the
   told study) into a fresh journal file (target: >= 10x). Optuna's `add_trials` into SQLite is
   shown for reference, on 1,000 trials (it is slow), scaled to 10,000.
b) the trials DataFrame of that 10,000-trial study: `trials_frame(SweepStudy(sweep))`, opening
   the storage included (target: < 2 s), and `ftsweep trials SWEEP -f csv -o FILE`.
c) `ask -n 8` with TPE on a study of 1,000 told trials: `ftsweep ask SWEEP -n 8 -o FILE` and
   `SweepStudy.ask(8)` in-process, against Optuna's `study.ask()` + the same suggestions with the
   same sampler (no lock, no duplicate check, no job bodies).
d) reading a study of 5,000 told trials (every 50th failed), whole commands: `ftsweep trials
   SWEEP -f csv -o FILE`, `-f json -o FILE` and the table into a pipe (each target: < 1 s), against
   the same commands as they ran before the trials table was written without pandas: CSV and JSON
   through the DataFrame and its writer, the table drawn by rich with every trial (`THROUGH_PANDAS`;
   CSV and JSON must be the same, byte for byte, the table the same cells); `ftsweep trials -f csv`
   and `ftsweep best SWEEP` against the same commands reading the journal through Optuna's replay,
   as every read did before ftsweep's own (the same bytes).
e) `ftsweep tell SWEEP results.csv` of 500 results into 500 running trials, the whole command
   (target: < 1 s; tell never used pandas: no baseline).

Every measurement runs in a fresh process (imports and caches do not help), on its own copy of
the storage; the figure is the median over the repeats. Each result is checked: after a tell a
fresh process counts the complete and failed trials and compares every value; an ask returns 8
distinct configurations none of the study's trials has.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
BIN = Path(sys.executable).parent
FAIL_EVERY = 50  # every 50th job failed: the results hold failures too
TELL_CLI = 500  # the results of section e's tell

SWEEP = """\
name: {name}
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: file-train
validation_file: file-valid
strategy: {strategy}
seed: 7
objective: {{metric: full_valid_loss, direction: minimize}}
space:
  learning_rate_multiplier: {{low: 0.05, high: 5.0, log: true}}
  n_epochs: {{low: 1, high: 10}}
  batch_size: [auto, 4, 8, 16, 32]
"""


def value_of(number: int) -> float:
    return 0.2 + (number * 7919 % 10007) / 10007


def failed(number: int) -> bool:
    return number % FAIL_EVERY == FAIL_EVERY - 1


# -- what runs in the fresh processes -------------------------------------------------------


def _open(sweep: str) -> Any:
    from ftsweep.study import SweepStudy
    from ftsweep.sweep import load_sweep

    return SweepStudy(load_sweep(sweep))


def _warm_imports() -> None:
    """Import what the timed code imports lazily: module import is start-up, not work."""
    import optuna  # noqa: F401
    import optuna.samplers  # noqa: F401
    import optuna.storages.journal  # noqa: F401
    import pandas  # noqa: F401

    import ftsweep.study  # noqa: F401


def child_tell(spec: dict[str, Any]) -> dict[str, Any]:
    """(i) read_results + tell on an opened study, or (ii) tell alone on pre-read records."""
    from ftsweep.study import read_results, tell

    _warm_imports()
    t0 = time.perf_counter()
    study = _open(spec["sweep"])
    study.trials()  # opened: the journal replayed
    opened = time.perf_counter() - t0
    records = None if spec["read_timed"] else read_results(spec["csv"], study.sweep.objectives)
    t0 = time.perf_counter()
    if records is None:
        records = read_results(spec["csv"], study.sweep.objectives)
    read = time.perf_counter() - t0
    report = tell(study, records)
    total = time.perf_counter() - t0
    return {"open": opened, "read": read, "seconds": total, "finished": report.finished}


def child_verify(spec: dict[str, Any]) -> dict[str, Any]:
    """A fresh reader's view of a told study: states counted, every value and job id checked."""
    study = _open(spec["sweep"])
    trials = study.trials()
    states: dict[str, int] = {}
    wrong = 0
    for trial in trials:
        state = trial.state.name
        states[state] = states.get(state, 0) + 1
        if trial.job.id != f"ftjob-{trial.number}":
            wrong += 1
        elif state == "COMPLETE" and trial.values != (value_of(trial.number),):
            wrong += 1
        elif state == "FAIL" and not failed(trial.number):
            wrong += 1
    return {"states": states, "wrong": wrong}


def child_add_trials(spec: dict[str, Any]) -> dict[str, Any]:
    """Baseline: Optuna's study.add_trials of the told study's trials into a fresh storage."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = _open(spec["sweep"]).store.optuna_study().get_trials(deepcopy=False)[: spec["n"]]
    if spec["kind"] == "journal":
        storage: Any = JournalStorage(JournalFileBackend(spec["target"]))
    else:
        storage = RDBStorage(f"sqlite:///{spec['target']}")
    study = optuna.create_study(study_name="baseline", storage=storage)
    t0 = time.perf_counter()
    study.add_trials(trials)
    seconds = time.perf_counter() - t0
    added = sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished())
    if isinstance(storage, RDBStorage):
        storage.remove_session()
        storage.engine.dispose()
    return {"seconds": seconds, "added": added}


def child_frame(spec: dict[str, Any]) -> dict[str, Any]:
    """trials_frame(SweepStudy(sweep)), opening the storage included."""
    from ftsweep.study import trials_frame

    _warm_imports()
    t0 = time.perf_counter()
    frame = trials_frame(_open(spec["sweep"]))
    seconds = time.perf_counter() - t0
    states = frame["state"].value_counts().to_dict()
    return {"seconds": seconds, "rows": len(frame), "columns": len(frame.columns), "states": states}


def child_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """SweepStudy.ask(8) on an opened study, or (baseline) Optuna's ask + the same suggestions."""
    import optuna

    from ftsweep.study.store.samplers import make_sampler

    def text(params: dict[str, Any]) -> str:
        return json.dumps(params, sort_keys=True)

    _warm_imports()
    t0 = time.perf_counter()
    study = _open(spec["sweep"])
    before = study.trials()
    opened = time.perf_counter() - t0
    seen = {text(t.params) for t in before if t.params is not None}
    t0 = time.perf_counter()
    if spec["baseline"]:
        sampler = make_sampler("tpe", study.sweep.spec.seed + len(before))
        storage = study.store.storage
        raw = optuna.load_study(study_name=study.name, storage=storage, sampler=sampler)
        encoding = study.store.encoding
        configs = [text(encoding.suggest(raw.ask())) for _ in range(spec["n"])]
    else:
        configs = [text(a.params) for a in study.ask(spec["n"])]
    seconds = time.perf_counter() - t0
    return {"open": opened, "seconds": seconds, "configs": configs, "new": len(set(configs) - seen)}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "tell": child_tell,
    "verify": child_verify,
    "add_trials": child_add_trials,
    "frame": child_frame,
    "ask": child_ask,
}


# -- the parent: set-up, fresh processes, checks, the table ---------------------------------


def child(op: str, **spec: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its JSON report."""
    proc = subprocess.run(
        [sys.executable, str(HERE), "--_child", op, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench child {op} failed:\n{proc.stdout}\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "FTSWEEP_STORAGE"}


#: `ftsweep ARGS` as it ran before ftsweep read journals itself: every read replays the journal
#: through Optuna (the store's own way for what its replay does not follow).
THROUGH_OPTUNA = """
import sys
from ftsweep.study.store.trial_store import TrialStore

made = TrialStore.__init__

def through_optuna(store, *args, **kwargs):
    made(store, *args, **kwargs)
    store._replays = False

TrialStore.__init__ = through_optuna
from ftsweep.cli import main

main()
"""


#: `ftsweep ARGS` as `trials` ran before the trials table was written without pandas: CSV and JSON
#: through the DataFrame and its pandas writer, the table drawn by rich with every trial.
THROUGH_PANDAS = """
import sys
from ftsweep.cli import loop_actions
from ftsweep.io import atomic_output
from ftsweep.study import trials_frame
from ftsweep.study.export import write_frame
from ftsweep.study.table import trial_records


def show_trials(study, format, output, wide, limit):
    records = trial_records(study)
    loop_actions._note_not_shown(records.not_shown)
    if format == "table":
        from ftsweep.cli.render import records_table

        shown = loop_actions._shown_columns(study, records)[1:]
        columns = list(dict.fromkeys(["key", "state", *shown, "job_status", "error"]))
        records_table(records, columns, study.name, output, wide=wide)
        return
    frame = trials_frame(study, records)
    if output is None:
        write_frame(frame, format, sys.stdout.buffer)
        return
    with atomic_output(output) as stream:
        write_frame(frame, format, stream)


loop_actions._show_trials = show_trials
from ftsweep.cli import main

main()
"""
VIA = {"optuna": THROUGH_OPTUNA, "pandas": THROUGH_PANDAS}


def command(*args: str | Path) -> float:
    """Wall seconds of one `ftsweep` command, start-up included."""
    return ftsweep(*args)[0]


def ftsweep(*args: str | Path, via: str | None = None) -> tuple[float, str]:
    """Wall seconds and stdout (a pipe) of one `ftsweep` command, start-up included; `via`: the
    command reading the journal through Optuna's replay ("optuna", `THROUGH_OPTUNA`) or writing
    the trials through pandas and rich ("pandas", `THROUGH_PANDAS`)."""
    exe = shutil.which("ftsweep", path=str(BIN))
    cmd = [exe] if exe else [sys.executable, "-m", "ftsweep"]
    if via is not None:
        cmd = [sys.executable, "-c", VIA[via]]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=_env())
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ftsweep {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return seconds, proc.stdout


def interpreter(code: str) -> float:
    """Wall seconds of a fresh interpreter running `code` (start-up and imports)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())
    return time.perf_counter() - t0


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"CHECK FAILED: {what}")


class Bench:
    def __init__(self, tmp: Path, quick: bool) -> None:
        self.tmp = tmp
        self.quick = quick
        self.repeats = 1 if quick else 3
        self.n_tell = 2_000 if quick else 10_000
        self.n_sqlite = 200 if quick else 1_000
        self.n_ask = 300 if quick else 1_000
        self.n_read = 1_000 if quick else 5_000
        self.copies = 0

    # A sweep directory with its default storage copied from a snapshot: a run of its own.
    def fresh(self, snapshot: Path, sweep_text: str, name: str) -> Path:
        self.copies += 1
        directory = self.tmp / f"run-{self.copies}"
        (directory / ".ftsweep").mkdir(parents=True)
        shutil.copyfile(snapshot, directory / ".ftsweep" / "journal.log")
        path = directory / f"{name}.yaml"
        path.write_text(sweep_text)
        return path

    def repeat(self, run: Callable[[], float]) -> float:
        return statistics.median(run() for _ in range(self.repeats))

    def in_turns(self, *runs: Callable[[], float]) -> list[float]:
        """The median of each of `runs`, run in turns: a machine's drift weighs on each alike."""
        seconds: list[list[float]] = [[] for _ in runs]
        for _ in range(self.repeats):
            for run, found in zip(runs, seconds, strict=True):
                found.append(run())
        return [statistics.median(found) for found in seconds]

    # -- set-up ------------------------------------------------------------------------
    def setup_tell(self) -> None:
        from ftsweep.study import SweepStudy
        from ftsweep.sweep import load_sweep

        self.tell_text = SWEEP.format(name="bench-tell", strategy="random")
        directory = self.tmp / "setup-tell"
        directory.mkdir()
        path = directory / "bench-tell.yaml"
        path.write_text(self.tell_text)
        t0 = time.perf_counter()
        asked = SweepStudy(load_sweep(path)).ask(self.n_tell)
        took = time.perf_counter() - t0
        check(len(asked) == self.n_tell, f"asked {len(asked)} trials, not {self.n_tell}")
        self.tell_snapshot = self.tmp / "tell-running.log"
        shutil.copyfile(directory / ".ftsweep" / "journal.log", self.tell_snapshot)
        self.csv = self.tmp / "results.csv"
        write_results(self.csv, [a.key for a in asked], [a.number for a in asked])
        self.n_failed = sum(1 for a in asked if failed(a.number))
        print(
            f"set-up: SweepStudy.ask({self.n_tell}) of a random sweep in {took:.1f} s "
            f"(journal {self.tell_snapshot.stat().st_size / 1e6:.1f} MB); results CSV: "
            f"{self.n_tell - self.n_failed:,} succeeded, {self.n_failed:,} failed",
            flush=True,
        )

    def setup_ask(self) -> None:
        from ftsweep.study import SweepStudy, read_results, tell
        from ftsweep.sweep import load_sweep

        directory = self.tmp / "setup-ask"
        directory.mkdir()
        path = directory / "bench-ask.yaml"
        path.write_text(SWEEP.format(name="bench-ask", strategy="random"))
        study = SweepStudy(load_sweep(path))
        asked = study.ask(self.n_ask)
        write_results(directory / "r.csv", [a.key for a in asked], [a.number for a in asked])
        tell(study, read_results(directory / "r.csv", study.sweep.objectives))
        # The same study, now asked with TPE (the strategy is no part of a study's identity).
        self.ask_text = SWEEP.format(name="bench-ask", strategy="tpe")
        self.ask_snapshot = self.tmp / "ask-told.log"
        shutil.copyfile(directory / ".ftsweep" / "journal.log", self.ask_snapshot)

    # -- a) ---------------------------------------------------------------------------
    def verify_told(self, sweep: Path, what: str) -> None:
        seen = child("verify", sweep=str(sweep))
        states = seen["states"]
        expected = {"COMPLETE": self.n_tell - self.n_failed, "FAIL": self.n_failed}
        check(states == expected, f"{what}: states {states}, expected {expected}")
        check(seen["wrong"] == 0, f"{what}: {seen['wrong']} trials with a wrong value or job")

    def tell_runs(self, read_timed: bool) -> tuple[float, Path]:
        told: list[Path] = []

        def run() -> float:
            sweep = self.fresh(self.tell_snapshot, self.tell_text, "bench-tell")
            out = child("tell", sweep=str(sweep), csv=str(self.csv), read_timed=read_timed)
            check(out["finished"] == self.n_tell, f"tell finished {out['finished']} trials")
            told.append(sweep)
            if read_timed:
                self.opens.append(out["open"])
                self.reads.append(out["read"])
            return float(out["seconds"])

        seconds = self.repeat(run)
        self.verify_told(told[-1], "read_results + tell" if read_timed else "tell")
        return seconds, told[-1]

    def section_a(self) -> list[Row]:
        n = self.n_tell
        self.opens: list[float] = []
        self.reads: list[float] = []
        with_read, told = self.tell_runs(read_timed=True)
        alone, _ = self.tell_runs(read_timed=False)
        cli_told: list[Path] = []

        def cli() -> float:
            sweep = self.fresh(self.tell_snapshot, self.tell_text, "bench-tell")
            cli_told.append(sweep)
            return command("tell", sweep, self.csv)

        cli_seconds = self.repeat(cli)
        self.verify_told(cli_told[-1], "ftsweep tell")
        self.told = told  # the 10,000-trial study of section b
        base = child(
            "add_trials", sweep=str(told), n=n, kind="journal", target=str(self.tmp / "b.log")
        )
        check(base["added"] == n, f"add_trials added {base['added']} of {n}")
        sqlite = child(
            "add_trials",
            sweep=str(told),
            n=self.n_sqlite,
            kind="sqlite",
            target=str(self.tmp / "b.db"),
        )
        check(sqlite["added"] == self.n_sqlite, f"add_trials (SQLite) added {sqlite['added']}")
        base_rate = n / base["seconds"]
        sqlite_rate = self.n_sqlite / sqlite["seconds"]
        rows = [
            Row("read_results(csv) + tell, opened study", n, with_read, base_rate, ">= 10x"),
            Row("tell alone (records read before)", n, alone, base_rate, ">= 10x"),
            Row("ftsweep tell SWEEP results.csv (whole command)", n, cli_seconds, base_rate, ""),
            Row("baseline: optuna add_trials, journal file", n, base["seconds"], base_rate, ""),
            Row(
                f"reference: add_trials, SQLite ({self.n_sqlite:,}, scaled)",
                n,
                n / sqlite_rate,
                base_rate,
                "",
            ),
        ]
        self.a_note = (
            f"(read_results of the CSV: {statistics.median(self.reads):.3f} s of the first row; "
            f"opening the study before it, {statistics.median(self.opens):.3f} s, not included)"
        )
        return rows

    # -- b) ---------------------------------------------------------------------------
    def section_b(self) -> list[Row]:
        n = self.n_tell

        def frame() -> float:
            out = child("frame", sweep=str(self.told))
            check(out["rows"] == n, f"frame has {out['rows']} rows, not {n}")
            expected = {"complete": n - self.n_failed, "fail": self.n_failed}
            check(out["states"] == expected, f"frame states {out['states']}")
            return float(out["seconds"])

        in_process = self.repeat(frame)
        out = self.tmp / "trials.csv"

        def cli() -> float:
            seconds = command("trials", self.told, "-f", "csv", "-o", out)
            with out.open(newline="") as handle:
                rows = sum(1 for _ in csv.reader(handle)) - 1
            check(rows == n, f"ftsweep trials wrote {rows} rows, not {n}")
            return seconds

        return [
            Row("trials_frame(SweepStudy(sweep)), open included", n, in_process, None, "< 2 s"),
            Row(
                "ftsweep trials SWEEP -f csv -o FILE (whole command)", n, self.repeat(cli), None, ""
            ),
        ]

    # -- c) ---------------------------------------------------------------------------
    def section_c(self) -> list[Row]:
        opens: list[float] = []

        def asking(baseline: bool) -> Callable[[], float]:
            def run() -> float:
                sweep = self.fresh(self.ask_snapshot, self.ask_text, "bench-ask")
                out = child("ask", sweep=str(sweep), n=8, baseline=baseline)
                if not baseline:
                    check(len(set(out["configs"])) == 8, f"ask(8) gave {out['configs']}")
                    check(out["new"] == 8, "ask(8) handed out a configuration already tried")
                    opens.append(out["open"])
                return float(out["seconds"])

            return run

        def cli() -> float:
            sweep = self.fresh(self.ask_snapshot, self.ask_text, "bench-ask")
            batch = sweep.parent / "batch.jsonl"
            seconds = command("ask", sweep, "-n", "8", "-o", batch)
            bodies = [json.loads(line) for line in batch.read_text().splitlines()]
            configs = {
                json.dumps(b["method"]["supervised"]["hyperparameters"], sort_keys=True)
                for b in bodies
            }
            check(len(bodies) == len(configs) == 8, "ftsweep ask -n 8: not 8 distinct configs")
            return seconds

        baseline = self.repeat(asking(True))
        in_process = self.repeat(asking(False))
        self.ask_open = statistics.median(opens)
        return [
            Row("ftsweep ask SWEEP -n 8 -o FILE (whole command)", 8, self.repeat(cli), None, ""),
            Row("SweepStudy.ask(8), opened study", 8, in_process, 8 / baseline, ""),
            Row("baseline: optuna ask + suggest x 8, same sampler", 8, baseline, 8 / baseline, ""),
        ]

    # -- d) ---------------------------------------------------------------------------
    def setup_read(self) -> None:
        """A random sweep's study of `n_read` trials, every one told: most complete, every
        FAIL_EVERY-th failed."""
        from ftsweep.study import SweepStudy, read_results, tell
        from ftsweep.sweep import load_sweep

        directory = self.tmp / "setup-read"
        directory.mkdir()
        self.read_sweep = directory / "bench-read.yaml"
        self.read_sweep.write_text(SWEEP.format(name="bench-read", strategy="random"))
        study = SweepStudy(load_sweep(self.read_sweep))
        asked = study.ask(self.n_read)
        results = directory / "results.csv"
        write_results(results, [a.key for a in asked], [a.number for a in asked])
        told = tell(study, read_results(results, study.sweep.objectives))
        check(told.finished == self.n_read, f"told {told.finished} of {self.n_read} trials")

    def section_d(self) -> list[Row]:
        """Reading commands leave the journal as it is: every run reads the same file."""
        n = self.n_read
        rows: list[Row] = []
        for format in ("csv", "json"):
            out = self.tmp / f"read.{format}"
            args = ("trials", self.read_sweep, "-f", format, "-o", out)
            ours, before, written = self.compare(args, out, "pandas")
            check(written["pandas"] == written[None], f"trials -f {format}: the two outputs differ")
            if format == "csv":
                lines = written[None][0].count(b"\n")
                check(lines == n + 1, f"ftsweep trials wrote {lines - 1} rows, not {n}")
            listed = f"ftsweep trials SWEEP -f {format} -o FILE (whole command)"
            rows += pair(listed, "baseline: the same, written through pandas", n, ours, before)
        ours, before, written = self.compare(("trials", self.read_sweep), None, "pandas")
        plain, drawn = _cells(written[None][1], " "), _cells(written["pandas"][1], "│")
        check(len(plain) == n + 1 and plain == drawn, "ftsweep trials: the two tables differ")
        listed = "ftsweep trials SWEEP | ... (the table, into a pipe)"
        rows += pair(listed, "baseline: rich's table of every trial, as before", n, ours, before)
        out = self.tmp / "read.csv"
        args = ("trials", self.read_sweep, "-f", "csv", "-o", out)
        ours, before, written = self.compare(args, out, "optuna")
        check(written["optuna"] == written[None], "ftsweep trials: the two CSVs differ")
        same = "baseline: the same, reading through Optuna's replay"
        rows += pair("ftsweep trials SWEEP -f csv -o FILE, again", same, n, ours, before)
        ours, before, written = self.compare(("best", self.read_sweep), None, "optuna")
        check(written["optuna"] == written[None], "ftsweep best: the two tables differ")
        rows += pair("ftsweep best SWEEP (whole command)", same, n, ours, before, target="")
        imports = "import ftsweep.cli.loop_actions, ftsweep.study.export"
        self.d_note = (
            f"(a fresh interpreter importing ftsweep's commands and its writers: "
            f"{self.repeat(lambda: interpreter(imports)):.3f} s of each row)"
        )
        return rows

    def compare(
        self, args: tuple[str | Path, ...], out: Path | None, via: str
    ) -> tuple[float, float, dict[str | None, tuple[bytes, str]]]:
        """The median seconds of `ftsweep ARGS` and of the same `via` the baseline, in turns, and
        what each wrote (the file `out`, stdout)."""
        written: dict[str | None, tuple[bytes, str]] = {}

        def reading(way: str | None) -> Callable[[], float]:
            def run() -> float:
                seconds, shown = ftsweep(*args, via=way)
                written[way] = (out.read_bytes() if out is not None else b"", shown)
                return seconds

            return run

        before, ours = self.in_turns(reading(via), reading(None))
        return ours, before, written

    # -- e) ---------------------------------------------------------------------------
    def setup_tell_cli(self) -> None:
        from ftsweep.study import SweepStudy
        from ftsweep.sweep import load_sweep

        directory = self.tmp / "setup-tell-cli"
        directory.mkdir()
        self.tell_cli_text = SWEEP.format(name="bench-tell-cli", strategy="random")
        path = directory / "bench-tell-cli.yaml"
        path.write_text(self.tell_cli_text)
        asked = SweepStudy(load_sweep(path)).ask(TELL_CLI)
        self.tell_cli_snapshot = self.tmp / "tell-cli-running.log"
        shutil.copyfile(directory / ".ftsweep" / "journal.log", self.tell_cli_snapshot)
        self.tell_cli_csv = self.tmp / "results-500.csv"
        write_results(self.tell_cli_csv, [a.key for a in asked], [a.number for a in asked])
        self.tell_cli_failed = sum(1 for a in asked if failed(a.number))

    def section_e(self) -> list[Row]:
        told: list[Path] = []

        def run() -> float:
            sweep = self.fresh(self.tell_cli_snapshot, self.tell_cli_text, "bench-tell-cli")
            told.append(sweep)
            return command("tell", sweep, self.tell_cli_csv)

        seconds = self.repeat(run)
        seen = child("verify", sweep=str(told[-1]))
        expected = {"COMPLETE": TELL_CLI - self.tell_cli_failed, "FAIL": self.tell_cli_failed}
        check(seen["states"] == expected, f"tell of {TELL_CLI}: states {seen['states']}")
        check(seen["wrong"] == 0, f"tell of {TELL_CLI}: {seen['wrong']} wrong trials")
        what = "ftsweep tell SWEEP results.csv (whole command)"
        return [Row(what, TELL_CLI, seconds, None, "< 1 s")]


def pair(
    what: str, baseline: str, n: int, ours: float, before: float, target: str = "< 1 s"
) -> list[Row]:
    """A command's row and its baseline's; the ratio: the baseline's time over the command's."""
    return [Row(what, n, ours, n / before, target), Row(baseline, n, before, n / before, "")]


def _cells(text: str, separator: str) -> list[list[str]]:
    """The non-empty cells of each row of a table (plain: split on spaces; rich: on its rules),
    from the header on; the title, caption and notes are left out."""
    lines = text.splitlines()
    if separator == "│":
        ruled = [line.replace("┃", "│") for line in lines if line.startswith(("┃", "│"))]
        rows = [line.split("│")[1:-1] for line in ruled]
        return [[c.strip() for c in row if c.strip()] for row in rows]
    return [line.split() for line in lines[1:-1]]


class Row:
    def __init__(
        self, what: str, n: int, seconds: float, base_rate: float | None, target: str
    ) -> None:
        self.what, self.n, self.seconds, self.target = what, n, seconds, target
        self.rate = n / seconds
        self.ratio = self.rate / base_rate if base_rate else None

    def line(self) -> str:
        ratio = " " * 9
        if self.ratio is not None:
            ratio = f"{self.ratio:8.1f}x" if self.ratio >= 1 else f"{self.ratio:8.2f}x"
        verdict = ""
        if self.target.startswith(">="):
            goal = float(self.target.split()[1].rstrip("x"))
            verdict = f"{self.target}: {'ok' if (self.ratio or 0) >= goal else 'MISSED'}"
        elif self.target.startswith("<"):
            goal = float(self.target.split()[1])
            verdict = f"{self.target}: {'ok' if self.seconds < goal else 'MISSED'}"
        return (
            f"  {self.what:<53} {self.n:>7,} {self.seconds:>9.3f} {self.rate:>11,.0f} "
            f"{ratio}  {verdict}"
        ).rstrip()


def write_results(path: Path, keys: list[str], numbers: list[int]) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["ftsweep_trial", "full_valid_loss", "trained_tokens", "job_id", "status"])
        for key, number in zip(keys, numbers, strict=True):
            if failed(number):
                out.writerow([key, "", "", f"ftjob-{number}", "failed"])
            else:
                out.writerow(
                    [key, repr(value_of(number)), 1000 + number, f"ftjob-{number}", "succeeded"]
                )


def print_table(title: str, rows: list[Row], note: str = "") -> None:
    print(f"\n{title}", flush=True)
    print(f"  {'':<53} {'trials':>7} {'seconds':>9} {'trials/s':>11} {'ratio':>9}  target")
    for row in rows:
        print(row.line())
    if note:
        print(f"  {note}")


def machine() -> str:
    import optuna

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cpus (load average {load}), python {sys.version.split()[0]}, "
        f"optuna {optuna.__version__}, storage: journal file (ftsweep's default)"
    )


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--_child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller studies, one repeat")
    args = parser.parse_args()
    os.environ.pop("FTSWEEP_STORAGE", None)
    started = time.perf_counter()
    print(f"ftsweep study benchmark: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ftsweep-bench-") as tmp:
        bench = Bench(Path(tmp), args.quick)
        runs = f"median of {bench.repeats} runs" if bench.repeats > 1 else "one run"
        print(f"each figure: {runs}, each run a fresh process on a fresh copy of the storage")
        bench.setup_tell()
        print_table(
            f"a) tell {bench.n_tell:,} results ({bench.n_failed:,} failed jobs among them) into "
            f"{bench.n_tell:,} running trials; ratio: trials/s over Optuna's add_trials",
            bench.section_a(),
            bench.a_note,
        )
        print_table(f"b) the trials DataFrame of a {bench.n_tell:,}-trial study", bench.section_b())
        bench.setup_ask()
        c = bench.section_c()
        print_table(
            f"c) ask 8 trials with TPE on a study of {bench.n_ask:,} told trials; "
            "ratio: the baseline's time over this one's",
            c,
            f"(opening the study before SweepStudy.ask: {bench.ask_open:.3f} s, not included)",
        )
        bench.setup_read()
        print_table(
            f"d) read a study of {bench.n_read:,} told trials; ratio: the baseline's time over "
            "this one's",
            bench.section_d(),
            bench.d_note,
        )
        bench.setup_tell_cli()
        print_table(f"e) tell {TELL_CLI} results into {TELL_CLI} running trials", bench.section_e())
    print("=" * 100)
    print(f"checks passed; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

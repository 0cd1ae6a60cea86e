"""Benchmark the service commands against the local stand-in, baselines in the same run.

    python bench/bench_service.py            # about two minutes on 2 idle cores
    python bench/bench_service.py --quick    # 20 jobs and a 200-job sync, one repeat

a) `submit -n 100`: the requests it makes per job (counted by the stand-in, route by route) and
   its wall time creating the jobs 8 at a time (`parallel=8`) and 4 at a time (the default)
   against one at a time (`parallel=1`), with every `jobs.create` answered `--latency` seconds
   late (`Fault.delay`, one per create, so that concurrency matters as it does on a real
   service); and the whole `ftsweep submit SWEEP -n 100` command. Each run: a fresh study
   (its own directory and journal, the local data files uploaded anew) and a fresh stand-in.
   Checked: the stand-in holds exactly 100 jobs, one per trial key, and a fresh reader of the
   study sees 100 trials, each with the id of the job that carries its key.
b) `sync` of a 1,000-job sweep (submitted 8 at a time, no latency; every 50th job failed by the
   stand-in), on the stand-in's manual clock: first while every job is still validating its
   files (statuses only), against retrieving the jobs one by one (`backend.job(id)` x 1,000);
   then past every phase, telling 1,000 results, against retrieving each job and reading its
   metrics (`backend.job(id)` + `backend.steps(job)`) one by one; then once more, when nothing
   changes; and the whole `ftsweep sync SWEEP` command. Each run on its own copy of the
   submitted study. Checked: a fresh reader sees every trial complete with the value of its
   job's last `full_valid_loss` (or failed, where the stand-in failed the job).

Every measurement runs in a fresh process (imports and caches do not help), timed there with
`time.perf_counter` around the library call (the study opened before), with the stand-in
serving from this process (`ftsweep.testing.StandIn`, on 127.0.0.1, its request log counted
before and after each run); the figure is the median over 3 runs, but for the two rows that
read every job's metrics (a sync that tells 1,000 results, and its one-by-one baseline) and the
whole commands, which run once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
BIN = Path(sys.executable).parent
NAME = "bench-service"
FAIL_EVERY = 50  # the stand-in fails every 50th job: a sync sees failures too
PHASE = 60.0  # seconds of the manual clock per job phase (section b)
KINDS = (
    "files.create",
    "files.retrieve",
    "files.content",
    "jobs.create",
    "jobs.list",
    "jobs.retrieve",
    "jobs.events",
    "jobs.checkpoints",
)

SWEEP = f"""\
name: {NAME}
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: train.jsonl
validation_file: valid.jsonl
strategy: random
seed: 7
max_trials: 100000
objective: {{metric: full_valid_loss, reduce: last}}
space:
  learning_rate_multiplier: {{low: 0.1, high: 2.0, log: true}}
  n_epochs: {{low: 1, high: 5}}
job: {{suffix: "b-{{trial}}"}}
"""


def chat_rows(n: int, offset: int = 0) -> str:
    rows = (
        {
            "messages": [
                {"role": "user", "content": f"question {i}?"},
                {"role": "assistant", "content": f"answer {i}."},
            ]
        }
        for i in range(offset, offset + n)
    )
    return "".join(json.dumps(row) + "\n" for row in rows)


def trial_number(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


def fail_when(spec: Any) -> Any:
    """The stand-in's failure rule: every FAIL_EVERY-th trial's job fails once it has run."""
    from ftsweep.testing import JobError

    number = trial_number((spec.metadata or {}).get("ftsweep_trial", "x-0"))
    if number % FAIL_EVERY == FAIL_EVERY - 1:
        return JobError("server_error", "The job failed (stand-in: every 50th trial).")
    return None


# -- what runs in the fresh processes -------------------------------------------------------


def _open(sweep: str) -> Any:
    from ftsweep.study import SweepStudy
    from ftsweep.sweep import load_sweep

    return SweepStudy(load_sweep(sweep))


def _connect(study: Any) -> Any:
    """The backend from the environment (OPENAI_API_KEY, OPENAI_BASE_URL), as the CLI builds it."""
    import optuna  # noqa: F401  (module import is start-up, not work)
    import optuna.storages.journal  # noqa: F401

    from ftsweep.provider import connect

    return connect(study.sweep.spec.service)


class FirstCreate:
    """The backend, noting when the first `create` is sent (the set-up before it: data files,
    ask, claim)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.first: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def create(self, body: Any) -> Any:
        if self.first is None:
            self.first = time.perf_counter()
        return self._backend.create(body)


def child_submit(spec: dict[str, Any]) -> dict[str, Any]:
    """submit(study, backend, count=N, parallel=K) on a fresh study."""
    from ftsweep.provider import submit

    study = _open(spec["sweep"])
    backend = FirstCreate(_connect(study))
    t0 = time.perf_counter()
    report = submit(study, backend, count=spec["count"], parallel=spec["parallel"])
    seconds = time.perf_counter() - t0
    creating = seconds - ((backend.first or t0) - t0)
    return {
        "seconds": seconds,
        "creating": creating,
        "created": len(report.created),
        "found": len(report.found),
        "refused": len(report.refused),
    }


def child_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """sync(study, backend) on an opened study."""
    from ftsweep.provider import sync

    t0 = time.perf_counter()
    study = _open(spec["sweep"])
    study.trials()  # opened: the journal replayed
    opened = time.perf_counter() - t0
    backend = _connect(study)
    t0 = time.perf_counter()
    report = sync(study, backend)
    seconds = time.perf_counter() - t0
    told = report.told
    statuses = Counter(job.status for job in report.jobs)
    return {
        "open": opened,
        "seconds": seconds,
        "finished": told.finished,
        "failed": told.failed,
        "updated": told.updated,
        "unchanged": told.unchanged,
        "statuses": dict(statuses),
        "notes": len(report.notes),
    }


def child_one_by_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Baseline: every job of the study retrieved by its id (and, with `steps`, the metrics of
    each that succeeded read as sync reads them), one after another."""
    study = _open(spec["sweep"])
    ids = [t.job.id for t in study.trials() if t.job.id]
    metrics = [o.metric for o in study.sweep.objectives]
    backend = _connect(study)
    t0 = time.perf_counter()
    statuses: Counter[str] = Counter()
    rows = 0
    for job_id in ids:
        job = backend.job(job_id)
        statuses[job.status] += 1
        if spec["steps"] and job.finished == "succeeded":
            rows += len(backend.steps(job, metrics))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "jobs": len(ids), "statuses": dict(statuses), "rows": rows}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "submit": child_submit,
    "sync": child_sync,
    "one_by_one": child_one_by_one,
}


# -- the parent: stand-ins, fresh processes, checks, the tables -----------------------------


def _env(service: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FTSWEEP_", "OPENAI_"))}
    env.update(OPENAI_API_KEY=service.api_key, OPENAI_BASE_URL=service.base_url)
    return env


def child(service: Any, op: str, **spec: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter against `service`; its JSON report."""
    proc = subprocess.run(
        [sys.executable, str(HERE), "--_child", op, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=_env(service),
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench child {op} failed:\n{proc.stdout}\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def command(service: Any, *args: str | Path) -> float:
    """Wall seconds of one `ftsweep` command against `service`, start-up included."""
    exe = shutil.which("ftsweep", path=str(BIN))
    cmd = [exe] if exe else [sys.executable, "-m", "ftsweep"]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, env=_env(service)
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ftsweep {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return seconds


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"CHECK FAILED: {what}")


@contextmanager
def counted(service: Any, into: list[Counter[str]]) -> Iterator[None]:
    """The requests `service` saw in the block, appended to `into`."""
    before = service.counts()
    yield
    into.append(service.counts() - before)


class Bench:
    def __init__(self, tmp: Path, quick: bool, latency: float) -> None:
        self.tmp = tmp
        self.quick = quick
        self.latency = latency
        self.repeats = 1 if quick else 3
        self.n_submit = 20 if quick else 100
        self.n_sync = 200 if quick else 1_000
        self.dirs = 0

    def fresh(self, journal: Path | None = None) -> Path:
        """A sweep directory of its own (sweep file, data files, and a copy of `journal`)."""
        self.dirs += 1
        directory = self.tmp / f"run-{self.dirs}"
        directory.mkdir()
        (directory / "train.jsonl").write_text(chat_rows(20))
        (directory / "valid.jsonl").write_text(chat_rows(10, offset=100))
        path = directory / f"{NAME}.yaml"
        path.write_text(SWEEP)
        if journal is not None:
            (directory / ".ftsweep").mkdir()
            shutil.copyfile(journal, directory / ".ftsweep" / "journal.log")
        return path

    def repeat(self, run: Callable[[], float], heavy: bool = False) -> float:
        """The median of `repeats` runs; a heavy measurement (a sync that reads every job's
        metrics, 15-25 s on 2 cores) runs once, to keep the whole benchmark near 3 minutes."""
        return statistics.median(run() for _ in range(1 if heavy else self.repeats))

    def validate_sweep(self) -> None:
        path = self.fresh()
        exe = shutil.which("ftsweep", path=str(BIN))
        cmd = [exe] if exe else [sys.executable, "-m", "ftsweep"]
        proc = subprocess.run([*cmd, "validate", str(path)], capture_output=True, text=True)
        check(proc.returncode == 0, f"ftsweep validate of the bench sweep: {proc.stderr}")

    # -- a) ---------------------------------------------------------------------------
    def verify_submitted(self, service: Any, sweep: Path, n: int, what: str) -> None:
        jobs = service.jobs
        check(len(jobs) == n, f"{what}: the stand-in holds {len(jobs)} jobs, not {n}")
        key_of = {job.id: (job.spec.metadata or {}).get("ftsweep_trial") for job in jobs}
        check(len(set(key_of.values())) == n, f"{what}: {n} jobs but not {n} distinct trial keys")
        check(not service.faults.pending(), f"{what}: not every create was answered late")
        trials = _open(str(sweep)).trials()  # a fresh reader of the study
        check(len(trials) == n, f"{what}: the study holds {len(trials)} trials, not {n}")
        wrong = [t.key for t in trials if t.job.id is None or key_of.get(t.job.id) != t.key]
        check(not wrong, f"{what}: {len(wrong)} trials without their job's id, e.g. {wrong[:3]}")

    def submit_runs(self, parallel: int, cli: bool = False) -> tuple[float, float]:
        from ftsweep.testing import Fault, StandIn, SystemClock

        n, totals, creating = self.n_submit, [], []
        for _ in range(1 if cli else self.repeats):
            sweep = self.fresh()
            what = "ftsweep submit" if cli else f"submit parallel={parallel}"
            with StandIn(clock=SystemClock(), phase_seconds=0.05) as service:
                service.inject(Fault.delay("jobs.create", self.latency, times=n))
                with counted(service, self.submit_counts.setdefault(what, [])):
                    if cli:
                        seconds = command(service, "submit", sweep, "-n", n)
                    else:
                        out = child(service, "submit", sweep=str(sweep), count=n, parallel=parallel)
                        check(out["created"] == n, f"{what}: created {out['created']}, not {n}")
                        check(out["found"] == out["refused"] == 0, f"{what}: {out}")
                        seconds = out["seconds"]
                        creating.append(out["creating"])
                self.verify_submitted(service, sweep, n, what)
            totals.append(seconds)
        return statistics.median(totals), statistics.median(creating) if creating else 0.0

    def section_a(self) -> list[Row]:
        n = self.n_submit
        self.submit_counts: dict[str, list[Counter[str]]] = {}
        one, one_creating = self.submit_runs(1)
        four, four_creating = self.submit_runs(4)
        eight, eight_creating = self.submit_runs(8)
        cli, _ = self.submit_runs(4, cli=True)
        base = n / one
        return [
            Row(f"submit(study, backend, count={n}, parallel=1)", n, one, base, one_creating),
            Row("  parallel=4 (the default)", n, four, base, four_creating),
            Row("  parallel=8", n, eight, base, eight_creating),
            Row(f"ftsweep submit SWEEP -n {n} (whole command, -p 4)", n, cli, base),
        ]

    # -- b) ---------------------------------------------------------------------------
    def setup_sync(self, service: Any) -> None:
        """Submit n_sync jobs in this process (the data files processed on the manual clock)."""
        from ftsweep.provider import connect, submit
        from ftsweep.provider.files import upload_data_files

        sweep = self.fresh()
        study = _open(str(sweep))
        os.environ.update(OPENAI_API_KEY=service.api_key, OPENAI_BASE_URL=service.base_url)
        try:
            backend = connect(study.sweep.spec.service)
        finally:
            del os.environ["OPENAI_API_KEY"], os.environ["OPENAI_BASE_URL"]
        t0 = time.perf_counter()
        upload_data_files(study, backend, sleep=lambda _: service.advance(PHASE))
        report = submit(study, backend, count=self.n_sync, parallel=8)
        took = time.perf_counter() - t0
        check(len(report.created) == self.n_sync, f"set-up submit created {len(report.created)}")
        self.verify_submitted_sync(service, sweep)
        self.submitted = self.tmp / "submitted.log"
        shutil.copyfile(sweep.parent / ".ftsweep" / "journal.log", self.submitted)
        self.n_failing = sum(1 for job in service.jobs if job.error is not None)
        print(
            f"set-up: submit(count={self.n_sync:,}, parallel=8), no latency, in {took:.1f} s "
            f"({self.n_sync / took:,.0f} jobs/s, stand-in and client in one process; "
            f"{sum(service.counts().values()):,} requests); {self.n_failing} of the jobs will fail",
            flush=True,
        )

    def verify_submitted_sync(self, service: Any, sweep: Path) -> None:
        jobs = service.jobs
        check(len(jobs) == self.n_sync, f"set-up: the stand-in holds {len(jobs)} jobs")
        trials = _open(str(sweep)).trials()
        ids = {job.id for job in jobs}
        check(
            len(trials) == self.n_sync and all(t.job.id in ids for t in trials),
            "set-up: not every trial has one of the stand-in's job ids",
        )

    def expected_values(self, service: Any) -> dict[str, float | None]:
        """Each trial key's value as its job reports it (the last full_valid_loss); None: failed."""
        values: dict[str, float | None] = {}
        for job in service.jobs:
            key = (job.spec.metadata or {})["ftsweep_trial"]
            losses = [row["full_valid_loss"] for row in job.rows if "full_valid_loss" in row]
            values[key] = None if job.error is not None else float(losses[-1])
        return values

    def verify_told(self, service: Any, sweep: Path, what: str) -> None:
        expected = self.expected_values(service)
        trials = _open(str(sweep)).trials()  # a fresh reader of the study
        check(len(trials) == self.n_sync, f"{what}: {len(trials)} trials, not {self.n_sync}")
        states = Counter(t.state.name for t in trials)
        want = {"COMPLETE": self.n_sync - self.n_failing, "FAIL": self.n_failing}
        check(dict(states) == want, f"{what}: states {dict(states)}, expected {want}")
        wrong = 0
        for trial in trials:
            value = expected[trial.key]
            if value is None:
                wrong += trial.state.name != "FAIL"
            else:
                wrong += trial.values is None or abs(trial.values[0] - value) > 1e-9
        check(wrong == 0, f"{what}: {wrong} trials without their job's value")

    def sync_runs(self, service: Any, what: str, journal: Path, kind: str) -> tuple[float, Path]:
        """`kind`: "running" (every job still running), "first" (every job finished, nothing
        told yet) or "again" (on a study the first sync told)."""
        last: list[Path] = []
        n = self.n_sync

        def run() -> float:
            sweep = self.fresh(journal)
            with counted(service, self.sync_counts.setdefault(what, [])):
                out = child(service, "sync", sweep=str(sweep))
            if kind == "running":
                check(out["finished"] == 0, f"{what}: finished {out['finished']} trials")
                check(out["statuses"] == {"validating_files": n}, f"{what}: {out['statuses']}")
            elif kind == "first":
                check(out["finished"] == n, f"{what}: finished {out['finished']}, not {n}")
                check(out["failed"] == self.n_failing, f"{what}: failed {out['failed']}")
                self.verify_told(service, sweep, what)
            else:
                check(out["finished"] == out["updated"] == 0, f"{what}: it changed trials: {out}")
                self.verify_told(service, sweep, what)
            self.opens.append(out["open"])
            last.append(sweep)
            return float(out["seconds"])

        return self.repeat(run, heavy=kind == "first"), last[-1]

    def one_by_one_runs(self, service: Any, what: str, steps: bool) -> float:
        def run() -> float:
            sweep = self.fresh(self.submitted)
            with counted(service, self.sync_counts.setdefault(what, [])):
                out = child(service, "one_by_one", sweep=str(sweep), steps=steps)
            check(out["jobs"] == self.n_sync, f"{what}: retrieved {out['jobs']} jobs")
            return float(out["seconds"])

        return self.repeat(run, heavy=steps)

    def section_b(self) -> list[Row]:
        from ftsweep.testing import ManualClock, StandIn

        n = self.n_sync
        self.sync_counts: dict[str, list[Counter[str]]] = {}
        self.opens: list[float] = []
        clock = ManualClock(start=time.time())
        with StandIn(clock=clock, phase_seconds=PHASE, fail_when=fail_when) as service:
            self.setup_sync(service)
            running, _ = self.sync_runs(service, "sync, running", self.submitted, "running")
            status_base = self.one_by_one_runs(service, "job(id) x n", steps=False)
            service.advance(3 * PHASE + 1)  # every job past its last phase
            first, told = self.sync_runs(service, "sync, finished", self.submitted, "first")
            steps_base = self.one_by_one_runs(service, "job(id) + steps x n", steps=True)
            told_journal = told.parent / ".ftsweep" / "journal.log"
            again, _ = self.sync_runs(service, "sync again", told_journal, "again")
            cli_sweep = self.fresh(self.submitted)
            with counted(service, self.sync_counts.setdefault("ftsweep sync", [])):
                cli = command(service, "sync", cli_sweep)
            self.verify_told(service, cli_sweep, "ftsweep sync")
        s_rate, t_rate = n / status_base, n / steps_base
        self.round_trip = status_base / n
        return [
            Row("sync, every job still running (statuses only)", n, running, s_rate),
            Row(f"  baseline: backend.job(id) x {n:,}", n, status_base, s_rate),
            Row(f"sync, every job finished: tells {n:,} results", n, first, t_rate),
            Row(f"  baseline: job(id) + steps(job) x {n:,}", n, steps_base, t_rate),
            Row("sync again: nothing changes", n, again, None),
            Row("ftsweep sync SWEEP (whole command, every job finished)", n, cli, t_rate),
        ]


class Row:
    def __init__(
        self,
        what: str,
        n: int,
        seconds: float,
        base_rate: float | None,
        creating: float | None = None,
    ) -> None:
        self.what, self.n, self.seconds, self.creating = what, n, seconds, creating
        self.rate = n / seconds if seconds > 0 else float("inf")
        self.ratio = self.rate / base_rate if base_rate else None

    def line(self, with_creating: bool) -> str:
        ratio = " " * 9
        if self.ratio is not None:
            ratio = f"{self.ratio:8.1f}x" if self.ratio >= 1 else f"{self.ratio:8.2f}x"
        creating = ""
        if with_creating:
            creating = f"{self.creating:>10.3f}" if self.creating else " " * 10
        return (
            f"  {self.what:<55} {self.n:>6,} {self.seconds:>9.3f} {self.rate:>10,.1f} "
            f"{ratio}{creating}"
        ).rstrip()


def print_table(title: str, rows: list[Row], note: str = "", creating: bool = False) -> None:
    print(f"\n{title}", flush=True)
    extra = f"{'creating':>10}" if creating else ""
    print(f"  {'':<55} {'jobs':>6} {'seconds':>9} {'jobs/s':>10} {'ratio':>9}{extra}")
    for row in rows:
        print(row.line(creating))
    if note:
        print(f"  {note}")


def print_requests(title: str, counts: dict[str, list[Counter[str]]], per: int) -> None:
    """Requests by route kind, per run (the runs of one measurement must agree)."""
    seen = {kind for runs in counts.values() for run in runs for kind in run}
    kinds = [k for k in KINDS if k in seen] + sorted(seen - set(KINDS))
    print(f"\n  {title}")
    head = "".join(f"{kind:>{max(len(kind), 6) + 1}}" for kind in kinds)
    print(f"  {'':<34}{head}{'total':>8}{'per job':>9}")
    for what, runs in counts.items():
        one = runs[0]
        same = all(run == one for run in runs)
        cells = "".join(f"{one.get(kind, 0):>{max(len(kind), 6) + 1},}" for kind in kinds)
        total = sum(one.values())
        note = "" if same else f"  (runs differ: {[sum(r.values()) for r in runs]})"
        print(f"  {what:<34}{cells}{total:>8,}{total / per:>9.2f}{note}")


def machine() -> str:
    import openai
    import optuna

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cpus (load average {load}), python {sys.version.split()[0]}, "
        f"openai {openai.__version__}, optuna {optuna.__version__}, storage: journal file; "
        "service: ftsweep.testing.StandIn on 127.0.0.1 in the benchmark process"
    )


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--_child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20 and 200 jobs, one repeat")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.075,
        metavar="SECONDS",
        help="how late the stand-in answers each jobs.create in a) (default 0.075)",
    )
    args = parser.parse_args()
    for name in [k for k in os.environ if k.startswith(("FTSWEEP_", "OPENAI_"))]:
        del os.environ[name]
    started = time.perf_counter()
    print(f"ftsweep service benchmark: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ftsweep-bench-") as tmp:
        bench = Bench(Path(tmp), args.quick, args.latency)
        bench.validate_sweep()
        runs = "one run"
        if bench.repeats > 1:
            runs = f"median of {bench.repeats} runs (b's rows that read every job's metrics: one)"
        print(f"each figure: {runs}, each run a fresh process on a fresh study")
        n = bench.n_submit
        a = bench.section_a()
        print_table(
            f"a) submit -n {n}: a fresh study and stand-in per run, every jobs.create answered "
            f"{bench.latency * 1000:.0f} ms late (Fault.delay); ratio: jobs/s over parallel=1",
            a,
            "(creating: from the first jobs.create sent to the end; before it the 2 data files "
            "are uploaded and polled until processed, and the trials asked and claimed)",
            creating=True,
        )
        print_requests(
            "requests per run, by route kind (per job: total / jobs)", bench.submit_counts, n
        )
        b = bench.section_b()
        opens = statistics.median(bench.opens)
        print_table(
            f"b) sync of a {bench.n_sync:,}-job sweep ({bench.n_failing} jobs failed by the "
            "stand-in); ratio: jobs/s over the one-by-one baseline below it",
            b,
            f"(opening the study before sync: {opens:.3f} s, not included; one request to the "
            f"stand-in costs {bench.round_trip * 1000:.1f} ms here, a real service's round trip "
            "far more: there the time follows the request counts below)",
        )
        print_requests("requests per run, by route kind", bench.sync_counts, bench.n_sync)
    print("=" * 100)
    print(f"checks passed; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

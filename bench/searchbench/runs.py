"""The runs of bench_search: one strategy on one surface, through ftsweep's own ask/tell path.

A run opens a `SweepStudy` on a journal file in a temporary directory (on /dev/shm when there is
one), asks batches, evaluates each trial on the surface, and tells the batch with
`ftsweep.study.feedback.tell`, until the budget is spent or `ask` hands out fewer than asked.
A pruning run trains the batch's jobs side by side on their learning curves and asks
`ftsweep.study.pruning.judge` at every point whether to stop one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchbench.surfaces import BY_NAME, Surface, Trajectory, trajectory

if TYPE_CHECKING:
    from ftsweep.study import SweepStudy
    from ftsweep.study.batch import AskedTrial
    from ftsweep.study.pruning import Curve, Verdict
    from ftsweep.study.rows import Result
    from ftsweep.sweep.spec import Prune

STRATEGIES = ("default", "tpe", "random", "grid")
#: ftsweep's default warm-started from an earlier sweep of the same problem (another seed, 12
#: trials, batches of 4, in the same storage: `search: {warm_start: [...]}`), at these budgets.
WARM = "warm"
WARM_BUDGETS = (12, 24)
WARM_PRIOR = 12
#: Strategies whose choices do not depend on max_trials: one run at the largest budget is read
#: at every budget (its first k trials are those of a k-trial run). ftsweep's default is not one.
PREFIX_READ = ("tpe", "random", "grid")
SHM = Path("/dev/shm")
ASK_SURFACE = BY_NAME["sft-sqrt-scaling"]  # the study `ask -n 8` is timed on
DIVERGED = "training diverged (loss is NaN)"  # the error a failed job is told with


def _optuna_tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


#: Each strategy as a sweep file's `strategy:` and the sampler hook `SweepStudy` takes.
_HOW: dict[str, tuple[str | None, Callable[[int], Any] | None]] = {
    "default": (None, None),  # no `strategy:` and no `search:`: the sweep file's default
    "tpe": ("tpe", _optuna_tpe),  # Optuna's TPESampler() with its defaults
    "random": ("random", None),
    "grid": ("grid", None),
    WARM: (None, None),
}


#: The pruning rules tried: `default` is what `prune: {}` does (the percentile rule keeping the
#: best 40% at each point, after a warm-up of one epoch: `warmup_examples: auto`); the median
#: rule after the same warm-up; and median and halving judging from a job's first report (a
#: quarter epoch in, `warmup_examples: 0`).
PRUNE_RULES = ("default", "median+warmup", "median", "halving")


def prune_rule(label: str) -> Prune:
    from ftsweep.sweep.spec import Prune

    rules = {
        "default": Prune(),
        "median+warmup": Prune(rule="median"),
        "median": Prune(rule="median", warmup_examples=0),
        "halving": Prune(rule="halving", warmup_examples=0),
    }
    return rules[label]


@dataclass(frozen=True)
class Unit:
    """One piece of work for the pool: a run, or (with `pruning`) a run without pruning and one
    with each rule, on the same seed."""

    surface: str
    strategy: str
    batch: int
    budget: int
    seed: int
    pruning: bool = False


@dataclass
class Trial:
    number: int
    params: dict[str, Any]
    observed: float | None  # what the job reported; None: failed, or pruned
    true: float | None  # the noise-free objective; None: the job fails
    tokens: float = 0.0  # trained (pruning runs)
    full_tokens: float = 0.0  # had it run to its end (pruning runs)
    pruned: bool = False


@dataclass
class Run:
    unit: Unit
    trials: list[Trial]
    ask_seconds: float
    rule: str | None = None  # the pruning rule; None: not pruned
    cpu: float = 0.0  # CPU seconds of the worker on this run


def execute(unit: Unit) -> list[Run]:
    """What a pool worker does with a unit."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not unit.pruning:
        return [run(unit)]
    runs = [run(unit, track=True)]
    runs += [run(unit, prune_rule(label), label) for label in PRUNE_RULES]
    return runs


def run(
    unit: Unit, rule: Prune | None = None, label: str | None = None, *, track: bool = False
) -> Run:
    """One run: ask, evaluate, tell, until the budget or the space is spent."""
    from ftsweep.sweep.load import loads_sweep

    surface = BY_NAME[unit.surface]
    strategy, sampler = _HOW[unit.strategy]
    text = surface.sweep_text(strategy, unit.budget, unit.seed)
    if unit.strategy == WARM:
        text += f"search: {{warm_start: [{surface.name}-before]}}\n"
    if rule is not None:  # the sweep says how it prunes, as a user's would
        text += f"prune: {json.dumps(rule.model_dump(mode='json', exclude_none=True))}\n"
    sweep = loads_sweep(text)
    start = time.process_time()
    trials: list[Trial] = []
    asking = 0.0
    history: list[Curve] = []
    with _study(sweep, sampler, prior=unit.strategy == WARM) as study:
        while True:
            t0 = time.perf_counter()
            batch = study.ask(unit.batch)
            asking += time.perf_counter() - t0
            if not batch:
                break
            if rule is None and not track:
                trials += _evaluate(study, surface, unit.seed, batch)
            else:
                trials += _train(study, surface, unit.seed, batch, rule, history)
            if len(batch) < unit.batch:
                break
    return Run(unit, trials, asking, label, time.process_time() - start)


@contextlib.contextmanager
def _study(
    sweep: Any, sampler: Callable[[int], Any] | None, *, prior: bool = False
) -> Iterator[SweepStudy]:
    """The run's study in a fresh journal; with `prior`, the journal first holds an earlier
    sweep of the same surface (`<surface>-before`, another seed) for a warm start."""
    from ftsweep.study import SweepStudy

    root = SHM if SHM.is_dir() and os.access(SHM, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="bench-search-", dir=root) as tmp:
        storage = str(Path(tmp) / "journal.log")
        if prior:
            _prior(BY_NAME[sweep.name], sweep.spec.seed, storage)
        study = SweepStudy(sweep, storage=storage, sampler=sampler)
        try:
            yield study
        finally:
            study.close()


def _prior(surface: Surface, seed: int, storage: str) -> None:
    """An earlier sweep of `surface`: ftsweep's default, WARM_PRIOR trials in batches of 4."""
    from ftsweep.study import SweepStudy
    from ftsweep.sweep.load import loads_sweep

    text = surface.sweep_text(None, WARM_PRIOR, 10_000 + seed)
    text = text.replace(f"name: {surface.name}\n", f"name: {surface.name}-before\n", 1)
    with SweepStudy(loads_sweep(text), storage=storage) as study:
        for _ in range(WARM_PRIOR // 4):
            _evaluate(study, surface, 10_000 + seed, study.ask(4))


def _result(study: SweepStudy, surface: Surface, row: int, trial: Trial) -> Result:
    """What `sync` reads from a finished job: its metric (or its failure) and the
    hyperparameters it trained with, as the service resolved them."""
    from ftsweep.study.rows import Result

    metric = study.sweep.objectives[0].metric
    value = trial.observed
    ok = value is not None
    return Result(
        source="bench",
        row=row,
        trial=trial.number,
        key=None,
        job_id=None,
        status="succeeded" if ok else "failed",
        values={metric: value} if value is not None else {},
        trained_tokens=None,
        error=None if ok else DIVERGED,
        resolved=surface.reported(trial.params),
        job=None,
    )


def _evaluate(
    study: SweepStudy, surface: Surface, seed: int, batch: Sequence[AskedTrial]
) -> list[Trial]:
    from ftsweep.study.feedback import tell

    trials = [
        Trial(a.number, dict(a.params), surface.observed(a.params, seed, a.number), true)
        for a in batch
        for true in [surface.true_value(a.params)]
    ]
    tell(study, [_result(study, surface, i, t) for i, t in enumerate(trials)])
    return trials


@dataclass
class _Job:
    """A job of the batch as it trains: its trajectory and how far it has reported."""

    asked: AskedTrial
    path: Trajectory
    reported: int = 0
    verdict: Verdict | None = None

    def curve(self, complete: bool = False) -> Curve:
        from ftsweep.study.pruning import Curve

        return Curve(self.path.points[: self.reported], complete)


def _train(
    study: SweepStudy,
    surface: Surface,
    seed: int,
    batch: Sequence[AskedTrial],
    rule: Prune | None,
    history: list[Curve],
) -> list[Trial]:
    """Train the batch's jobs side by side (each reports at the examples it has seen, in the
    order of that), judging each point but the last by the others' curves; then tell."""
    jobs = [_Job(a, trajectory(surface, a.params, seed, a.number)) for a in batch]
    for _, j in sorted((x, j) for j, job in enumerate(jobs) for x, _ in job.path.points):
        job = jobs[j]
        if job.verdict is not None:
            continue
        job.reported += 1
        if rule is not None and job.reported < len(job.path.points):
            job.verdict = _judged(rule, surface, history, jobs, job)
    trials = [_finished(surface, seed, job) for job in jobs]
    done = [(job, t) for job, t in zip(jobs, trials, strict=True) if not t.pruned]
    _tell_outcomes(study, surface, done)
    _tell_pruned(
        study, [(job.asked.number, job.verdict, job.curve()) for job in jobs if job.verdict]
    )
    history += [job.curve(complete=not job.path.fails and job.verdict is None) for job in jobs]
    return trials


def _judged(
    rule: Prune, surface: Surface, history: Sequence[Curve], jobs: Sequence[_Job], job: _Job
) -> Verdict | None:
    """What `sync --prune` decides, one epoch being the surface's training examples (as it is
    for a local training file)."""
    from ftsweep.study.pruning import judge

    mates = [other.curve() for other in jobs if other is not job and other.reported]
    return judge(rule, surface.direction, [*history, *mates], job.curve(), surface.examples)


def _finished(surface: Surface, seed: int, job: _Job) -> Trial:
    a, path = job.asked, job.path
    per = path.tokens_per_example
    stopped = path.points[job.reported - 1][0]
    pruned = job.verdict is not None
    observed = None if pruned or path.fails else path.points[-1][1]
    true = surface.true_value(a.params)
    return Trial(a.number, dict(a.params), observed, true, stopped * per, path.end * per, pruned)


def _tell_outcomes(
    study: SweepStudy, surface: Surface, done: Sequence[tuple[_Job, Trial]]
) -> None:
    from ftsweep.study.feedback import tell

    rows = [_result(study, surface, i, t) for i, (_, t) in enumerate(done)]
    if rows:
        tell(study, rows)


def _tell_pruned(study: SweepStudy, pruned: Sequence[tuple[int, Verdict | None, Curve]]) -> None:
    """Record the pruned trials as `sync --prune` does: the curve as intermediate values, the
    decision (`MarkPruned`), then the trial finished as pruned, in one write."""
    from ftsweep.study.records import Finish, MarkPruned, Pruned, Report, State

    writes: list[Any] = []
    for number, verdict, curve in pruned:
        assert verdict is not None
        values = {int(x): value for x, value in curve.points}
        where = Pruned(step=int(verdict.x), progress=int(verdict.x), value=verdict.value)
        writes += [Report(number, values), MarkPruned(number, where), Finish(number, State.PRUNED)]
    if writes:
        with study.store.lock():
            study.store.load(write=True)
            study.store.apply(writes)


def fill(path: str, count: int, batch: int = 8) -> int:
    """A journal study of ftsweep's default strategy on the first surface with `count` told
    trials, asked and told as a sweep would be; the number told."""
    import optuna

    from ftsweep.study import SweepStudy
    from ftsweep.sweep.load import loads_sweep

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    surface = ASK_SURFACE
    sweep = loads_sweep(surface.sweep_text(None, count + 100, 0))
    told = 0
    with SweepStudy(sweep, storage=path) as study:
        while told < count:
            asked = study.ask(min(batch, count - told))
            _evaluate(study, surface, 0, asked)
            told += len(asked)
    return told


def timed_ask(path: str, count: int, n: int = 8) -> float:
    """Seconds of `SweepStudy(sweep, storage=path).ask(n)` on a study `fill` made, opening
    included."""
    from ftsweep.study import SweepStudy
    from ftsweep.sweep.load import loads_sweep

    sweep = loads_sweep(ASK_SURFACE.sweep_text(None, count + 100, 0))
    start = time.perf_counter()
    with SweepStudy(sweep, storage=path) as study:
        asked = study.ask(n)
    seconds = time.perf_counter() - start
    assert len(asked) == n, f"asked for {n}, got {len(asked)}"
    return seconds

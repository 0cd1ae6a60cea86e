"""Telling results to a sweep's study, and importing jobs run outside ftsweep.

Both check a whole batch before writing anything: a row that conflicts with what the study
already holds refuses the batch (unless forced) and nothing of it is written. Two rows of a batch
that tell one trial different results or different jobs refuse it too, forced or not: nothing
says which is right. Each problem is reported under the file of its row. Telling the same
thing twice changes nothing. A forced result for a finished trial cannot change that trial
(Optuna keeps finished trials as they are), so it adds a replacement trial with the same
configuration that `supersedes` the old one; lookups by key, number or job id then find the new
trial, and only it counts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ftsweep._bulk import bulk
from ftsweep.errors import Problem, ResultsError
from ftsweep.progress import track
from ftsweep.study.records import (
    Create,
    Finish,
    JobRecord,
    RecordJob,
    State,
    TrialRecord,
    Write,
)
from ftsweep.sweep.jobs import trial_number

if TYPE_CHECKING:
    from ftsweep.data.cost import Costing
    from ftsweep.study.results import Result
    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params

__all__ = ["TellReport", "cost_of", "job_of", "outcome_of", "plan_tell", "priced", "tell"]

#: What a result does to its trial: ("fail", None) or ("complete", values).
Outcome = tuple[str, tuple[float, ...] | None]


@dataclass
class TellReport:
    """What a tell did: trials finished, updated, already so, replaced; rows naming no trial."""

    finished: int = 0
    failed: int = 0  # of the finished, how many as failed (failed or cancelled jobs)
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    unknown: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _View:
    """A trial as it will be once the batch is written."""

    record: TrialRecord
    state: State
    values: tuple[float, ...] | None
    job: JobRecord
    changed: bool = False
    finished_now: bool = False
    replace: bool = False
    told: Result | None = None  # the row of this batch that gave the trial its outcome
    job_told: Result | None = None  # the row of this batch that gave the trial its job id


def tell(study: SweepStudy, results: Sequence[Result], *, force: bool = False) -> TellReport:
    """Feed results back, in one write; raises ResultsError, writing nothing, when any row
    conflicts or when no row names a trial of the sweep (results for another sweep, most
    likely)."""
    with study.store.lock():
        trials = study.store.load(write=True).trials
        report, writes = plan_tell(study.sweep, trials, results, force=force, costing=study.money())
        study.store.apply(writes)
    if results and len(report.unknown) == len(results):  # no trial found, so nothing written
        raise _nothing_named(study.name, report.unknown)
    return report


def unknown_row(result: Result, sweep: str) -> str:
    """A row naming no trial of the sweep, as a line: where it is and how it names its trial."""
    kind, value = result.ref
    return f"{result.source}:{result.row}: names no trial of sweep {sweep!r} ({kind} {value})"


_COLUMNS = {"key": "ftsweep_trial", "trial": "trial", "job_id": "job_id"}


def _nothing_named(sweep: str, unknown: Sequence[Result]) -> ResultsError:
    head = f"nothing was told: no row names a trial of sweep {sweep!r}"
    lines = [unknown_row(r, sweep) for r in unknown]
    rule = f"names no trial of sweep {sweep!r}"
    problems = [Problem((_COLUMNS[r.ref.kind],), rule, r.ref.value, line=r.row) for r in unknown]
    sources = ", ".join(dict.fromkeys(r.source for r in unknown))
    return ResultsError(sources, problems, "\n".join([head, *lines]))


@bulk
def plan_tell(
    sweep: Sweep,
    trials: Sequence[TrialRecord],
    results: Sequence[Result],
    *,
    force: bool,
    costing: Costing | None = None,
) -> tuple[TellReport, list[Write]]:
    """What telling `results` to a study holding `trials` reports and writes; raises
    ResultsError when a row conflicts (the batch is then refused whole). `costing` prices a
    `cost` objective."""
    index = _Index(sweep, trials)
    index.learn_jobs(results)
    report, problems, views = TellReport(), list[tuple[str, Problem]](), dict[int, _View]()
    for result in track(results, len(results), "checking results"):
        trial = index.find(result)
        if trial is None:
            report.unknown.append(result)
            continue
        view = views.get(trial.number) or views.setdefault(trial.number, _view(trial))
        problem = index.other_job(result, trial) or _apply(
            sweep, view, result, force, report, costing
        )
        if problem is not None:
            problems.append((result.source, problem))
    if problems:
        raise _refusal(problems)
    return report, _writes(sweep, views.values(), report)


def _refusal(problems: Sequence[tuple[str, Problem]]) -> ResultsError:
    """One error for the batch, each problem under the file of the row it is about."""
    by_file: dict[str, list[Problem]] = {}
    for source, problem in problems:
        by_file.setdefault(source, []).append(problem)
    return ResultsError.merge([ResultsError(file, found) for file, found in by_file.items()])


class _Index:
    """Finds the current trial a result names: by key, number or job id."""

    def __init__(self, sweep: Sweep, trials: Sequence[TrialRecord]) -> None:
        self.sweep = sweep
        self.current = {t.number: t for t in trials if t.live}
        for trial in trials:  # a replacement stands for the trial it supersedes
            if trial.supersedes is not None and trial.live:
                self.current[trial.supersedes] = trial
        jobs = ((t.job.id, t) for t in self.current.values())
        self.by_job = {found: t for found, t in jobs if found is not None}
        self.taught: dict[str, Result] = {}  # the row of the batch that tied a job to its trial

    def learn_jobs(self, results: Sequence[Result]) -> None:
        """Job ids the batch itself ties to trials (a job object names its trial by key), so
        rows naming the job id find the trial in the same batch, in any order."""
        for result in results:
            if result.job_id is not None and result.ref.kind != "job_id":
                trial = self.find(result)
                if trial is not None and result.job_id not in self.by_job:
                    self.by_job[result.job_id] = trial
                    self.taught[result.job_id] = result

    def other_job(self, result: Result, trial: TrialRecord) -> Problem | None:
        """A problem when the result's job is another trial's than its key or number names."""
        job_id = result.job_id
        owner = None if job_id is None else self.by_job.get(job_id)
        if job_id is None or owner is None or owner.number == trial.number:
            return None
        taught = self.taught.get(job_id)
        said = f", as {taught.source}:{taught.row} says" if taught else ""
        named = f"{_COLUMNS[result.ref.kind]} {result.ref.value}"
        message = f"{job_id} (the job of {owner.key}{said}) and {named} name different trials"
        return Problem(("job_id",), message, line=result.row)

    def find(self, result: Result) -> TrialRecord | None:
        ref = result.ref
        if ref.kind == "job_id":
            return self.by_job.get(str(ref.value))
        if ref.kind == "key":
            number = trial_number(self.sweep.name, str(ref.value))
        else:
            number = int(ref.value)
        return self.current.get(number) if number is not None else None


def _view(trial: TrialRecord) -> _View:
    return _View(trial, trial.state, trial.values, trial.job)


def outcome_of(sweep: Sweep, result: Result, cost: float | None = None) -> Outcome | None:
    """("fail", None), ("complete", values), or None when the result finishes nothing.
    `cost` is the value of a `cost` objective (what the trial's job cost)."""
    if result.status in ("failed", "cancelled"):
        return "fail", None
    metrics = dict(result.values)
    if result.trained_tokens is not None:
        metrics.setdefault("trained_tokens", float(result.trained_tokens))
    if cost is not None:
        metrics.setdefault("cost", cost)
    values = [metrics.get(o.metric) for o in sweep.objectives]
    if result.status == "succeeded" and all(v is not None for v in values):
        return "complete", tuple(float(v) for v in values if v is not None)
    return None


def cost_of(costing: Costing | None, params: Params | None, job: JobRecord) -> float | None:
    """What a trial's job cost, for a `cost` objective: the actual cost from what the service
    reported, else the trial's estimate (None: it cannot be priced)."""
    if costing is None or params is None:
        return None
    actual = job.actual_cost if job.actual_cost is not None else costing.actual(params, job)
    if actual is not None:
        return actual
    if job.estimated_cost is not None:
        return job.estimated_cost
    made = costing.estimate(params, job.resolved)
    return made.cost if made is not None else None


def priced(costing: Costing | None, params: Params | None, job: JobRecord) -> JobRecord:
    """The job with its actual cost, when it reports what it trained and a price applies."""
    if costing is None or params is None or job.trained_tokens is None:
        return job
    actual = costing.actual(params, job)
    return job if actual is None else dataclasses.replace(job, actual_cost=actual)


def job_of(result: Result) -> JobRecord:
    """What a result says of its trial's job."""
    job = result.job
    return JobRecord(
        id=result.job_id,
        status=job.status if job else result.status,
        trained_tokens=result.trained_tokens,
        fine_tuned_model=(job.fine_tuned_model or None) if job else None,
        error=result.error,
        created_at=job.created_at if job else None,
        finished_at=job.finished_at if job else None,
        resolved=dict(result.resolved),
    )


def _apply(
    sweep: Sweep,
    view: _View,
    result: Result,
    force: bool,
    report: TellReport,
    costing: Costing | None = None,
) -> Problem | None:
    told = priced(costing, view.record.params, job_of(result))
    cost = cost_of(costing, view.record.params, view.job.merged(told)) if sweep.costs else None
    outcome = outcome_of(sweep, result, cost)
    problem = _told_twice(sweep, view, result, outcome, told)
    if problem is None and not force:
        problem = _held_job(view, result, told)
    if problem is not None:
        return problem
    if view.state.finished:
        if outcome is None or _same(view, outcome) or _cancelled_by_pruning(view, result):
            _note_ignored(view, told, report)
            return None
        if not force:
            return _conflict(view, result, f"is already {_describe(sweep, view)}")
        if view.record.foreign:
            message = "was not made by ftsweep (plain Optuna added it): it cannot be replaced"
            return _problem(view, result, message)
        view.replace = True
    state = view.state
    if outcome is not None:
        state = State.FAIL if outcome[0] == "fail" else State.COMPLETE
    job = view.job.merged(told)
    if job == view.job and state == view.state and not view.replace:
        return None
    view.finished_now = view.finished_now or (state.finished and not view.state.finished)
    view.job, view.state, view.changed = job, state, True
    view.values = outcome[1] if outcome else view.values
    view.told = result if outcome else view.told
    view.job_told = view.job_told or (result if told.id is not None else None)
    return None


def _told_twice(
    sweep: Sweep, view: _View, result: Result, outcome: Outcome | None, told: JobRecord
) -> Problem | None:
    """Two rows of the batch that tell one trial different outcomes, or different jobs."""
    first, job = view.told, view.job_told
    if first is not None and outcome is not None and not _same(view, outcome):
        said = f"{_describe(sweep, view)} at {_at(first)}, "
        said += f"{_words(sweep, outcome)} at {_at(result)}"
        return _problem(view, result, f"told two results: {said}; keep the right one")
    if job is not None and told.id not in (None, view.job.id):
        said = f"{view.job.id} at {_at(job)}, {told.id} at {_at(result)}"
        return _problem(view, result, f"told two jobs: {said}; a trial has one job")
    return None


def _held_job(view: _View, result: Result, told: JobRecord) -> Problem | None:
    """A conflict when the study holds another job for the trial than the result names."""
    held = view.record.job.id
    if held is None or told.id in (None, held):
        return None
    return _conflict(view, result, f"belongs to job {held}, not {told.id}")


def _at(result: Result) -> str:
    return f"{result.source}:{result.row}"


def _same(view: _View, outcome: Outcome) -> bool:
    kind, values = outcome
    if kind == "fail":
        return view.state == State.FAIL
    return (
        view.state == State.COMPLETE
        and view.values is not None
        and values is not None
        and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(view.values, values, strict=True))
    )


def _cancelled_by_pruning(view: _View, result: Result) -> bool:
    """A pruned trial's job, told cancelled: that is how pruning left it, not another result
    (a jobs.list page imported again, say)."""
    return view.state == State.PRUNED and result.status == "cancelled"


_STATE_WORDS = {State.COMPLETE: "complete", State.FAIL: "failed", State.PRUNED: "pruned"}


def _describe(sweep: Sweep, view: _View) -> str:
    return _with_values(sweep, _STATE_WORDS.get(view.state, view.state.value), view.values)


def _words(sweep: Sweep, outcome: Outcome) -> str:
    kind, values = outcome
    return _with_values(sweep, "failed" if kind == "fail" else "complete", values)


def _with_values(sweep: Sweep, state: str, values: Sequence[float] | None) -> str:
    if values is None:
        return state
    shown = ", ".join(f"{o.metric}={v:g}" for o, v in zip(sweep.objectives, values, strict=True))
    return f"{state} with {shown}"


def _conflict(view: _View, result: Result, why: str) -> Problem:
    return _problem(view, result, f"{why}; tell --force to replace what the study holds")


def _problem(view: _View, result: Result, message: str) -> Problem:
    return Problem((view.record.key,), message, line=result.row)


_FACT_NAMES = {"id": "job_id", "status": "job_status"}  # as the frame's columns name them


def _note_ignored(view: _View, told: JobRecord, report: TellReport) -> None:
    held = view.job.facts()
    fresh = sorted(_FACT_NAMES.get(k, k) for k in told.facts() if k not in held)
    if fresh and not view.changed:
        fresh_facts = ", ".join(fresh)
        report.notes.append(f"{view.record.key} had already finished: {fresh_facts} not recorded")


def _writes(sweep: Sweep, views: Iterable[_View], report: TellReport) -> list[Write]:
    writes: list[Write] = []
    for view in views:
        if not view.changed:
            report.unchanged += 1
            continue
        if view.replace:
            writes.append(_supersede(view))
            report.superseded += 1
            continue
        number = view.record.number
        if view.job != view.record.job:
            writes.append(RecordJob(number, view.job, config=not view.record.shows_config))
        if view.finished_now:
            writes.append(Finish(number, view.state, view.values or None, _completed(view)))
            report.finished += 1
            report.failed += view.state == State.FAIL
        else:
            report.updated += 1
    return writes


def _completed(view: _View) -> datetime | None:
    """When the trial's job finished, as the service said; None when it did not say, or said a
    time before the trial started (a clock that disagrees: the tell's own time is used)."""
    told = [r.job.finished_at for r in (view.told, view.job_told) if r is not None and r.job]
    finished_at = next((t for t in told if t), None)  # the outcome's row, or the job's
    if finished_at is None:
        return None
    moment = datetime.fromtimestamp(finished_at, tz=UTC)
    start = view.record.started
    if start is not None and moment < start:
        return None
    return moment


def _supersede(view: _View) -> Create:
    """The replacement of a finished trial: its configuration, the new outcome and job."""
    old = view.record
    assert old.params is not None  # `_apply` refuses to replace a foreign trial
    complete = view.state == State.COMPLETE
    return Create(
        old.params,
        state=view.state,
        values=view.values if complete else None,
        origin=old.origin,
        position=old.position,
        supersedes=old.original,
        job=view.job,
        started=old.started,
        completed=_completed(view),
    )

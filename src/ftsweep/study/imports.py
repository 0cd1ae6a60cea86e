"""Import fine-tuning jobs run outside ftsweep as trials, so a sweep can start from history.

Each job object becomes a trial with the job's resolved hyperparameters, which must lie in the
sweep's space (a value the space does not hold is refused, except that a dimension allowing
"auto" takes it as "auto": a resolved number is what an auto request turns into). A job of
another method, or of a model the sweep does not use, is refused; so is one whose training_file
or validation_file is not the sweep's (another experiment), unless forced, which imports it with
a note. Result rows in the same call are then told to the new trials by job id. A job already in
the study is skipped, so importing the same history twice changes nothing; a job ftsweep asked
for itself (its metadata names a trial of the sweep) is told to that trial rather than added
again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ftsweep.api.hyperparameters import AUTO
from ftsweep.api.job_object import DATA_FILES, JobInfo
from ftsweep.errors import Problem, ResultsError
from ftsweep.study.feedback import (
    TellReport,
    cost_of,
    job_of,
    outcome_of,
    plan_tell,
    priced,
)
from ftsweep.study.records import Create, State, TrialRecord, Write
from ftsweep.sweep.dimensions import Categorical, Dimension, IntRange
from ftsweep.sweep.jobs import trial_key
from ftsweep.sweep.space import Params, SubSpace

if TYPE_CHECKING:
    from ftsweep.data.cost import Costing
    from ftsweep.study.results import Result
    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.load import Sweep

__all__ = ["ImportReport", "import_jobs", "plan_import"]


@dataclass
class ImportReport:
    """Jobs imported, jobs the study already had, and what telling the rows did."""

    imported: int = 0
    existing: int = 0
    notes: list[str] = field(default_factory=list)
    told: TellReport | None = None


def import_jobs(
    study: SweepStudy, results: Sequence[Result], *, force: bool = False
) -> ImportReport:
    """Add the new job objects among `results` as trials and tell the other rows and the jobs
    the study already has (asked for by ftsweep, or imported before): all in one write, and
    nothing when any row is refused."""
    with study.store.lock():
        trials = study.store.load(write=True).trials
        report, writes = plan_import(
            study.sweep, trials, results, force=force, costing=study.money()
        )
        study.store.apply(writes)
    return report


def plan_import(
    sweep: Sweep,
    trials: Sequence[TrialRecord],
    results: Sequence[Result],
    *,
    force: bool,
    costing: Costing | None = None,
) -> tuple[ImportReport, list[Write]]:
    """What importing `results` into a study holding `trials` reports and writes; raises
    ResultsError, so that nothing is written, when a job or a row is refused."""
    report = ImportReport()
    live = [t for t in trials if t.live]
    known = {t.job.id for t in live if t.job.id is not None}
    ours = {t.key for t in live}
    # A job the study already has (ftsweep asked for it, or an earlier import added it) is
    # told instead: importing again applies what changed, such as its final status.
    jobs = [r for r in results if r.job is not None and r.key not in ours and r.job_id not in known]
    rows = [r for r in results if r not in jobs]
    report.existing = len(results) - len(jobs) - sum(r.job is None for r in results)
    fits, problems = _check(sweep, jobs, known, report, force)
    if problems:
        sources = ", ".join(dict.fromkeys(r.source for r in jobs))
        raise ResultsError(sources, problems, done="imported")
    first = len(trials)  # the number the study gives its next trial
    creates = [
        _create(sweep, result, params, first + i, costing)
        for i, (result, params) in enumerate(fits)
    ]
    writes: list[Write] = [create for _, create in creates]
    report.imported = len(creates)
    if rows:
        new = [record for record, _ in creates]
        report.told, told = plan_tell(sweep, [*trials, *new], rows, force=force, costing=costing)
        writes += told
    return report, writes


def _check(
    sweep: Sweep, jobs: Sequence[Result], known: set[str], report: ImportReport, force: bool
) -> tuple[list[tuple[Result, Params]], list[Problem]]:
    creates: list[tuple[Result, Params]] = []
    problems: list[Problem] = []
    for result in jobs:
        assert result.job is not None
        if result.job.id in known:
            report.existing += 1
            continue
        known.add(result.job.id)
        reasons = _other_files(sweep, result.job, force, report.notes)
        params, reason = _params(sweep, result, report.notes)
        reasons += [reason] if params is None else []
        problems += [Problem(("job", result.job.id), r, line=result.row) for r in reasons]
        if params is not None and not reasons:
            creates.append((result, params))
    return creates, problems


def _other_files(sweep: Sweep, job: JobInfo, force: bool, notes: list[str]) -> list[str]:
    """Why a job trained or validated on other files than the sweep's is another experiment;
    forced, the job is imported all the same, with a note."""
    reasons = []
    for name in DATA_FILES:
        ours = getattr(sweep.spec, name)
        if name in job.files and job.files[name] != ours:
            reasons.append(f"{name} {_file(job.files[name])} is not the sweep's ({_file(ours)})")
    if reasons and force:
        notes.append(f"job {job.id}: {'; '.join(reasons)}: imported all the same (--force)")
        return []
    return [f"{r}: another experiment; import --force to take it all the same" for r in reasons]


def _file(name: str | None) -> str:
    return repr(name) if name else "none"


def _params(sweep: Sweep, result: Result, notes: list[str]) -> tuple[Params | None, str]:
    job = result.job
    assert job is not None
    if job.method is not None and job.method != sweep.method:
        return None, f"is a {job.method} job; sweep {sweep.name!r} is {sweep.method}"
    if "model" not in sweep.space.names and job.model != sweep.spec.model:
        return None, f"fine-tuned {job.model!r}; the sweep's model is {sweep.spec.model!r}"
    reasons = []
    for sub in sweep.space.subspaces:
        params, reason = _fit(sub, {**job.hyperparameters, "model": job.model}, job.id, notes)
        if params is not None:
            return params, ""
        reasons.append(reason)
    return None, reasons[0] if len(reasons) == 1 else "fits no sub-space: " + "; ".join(reasons)


def _fit(
    sub: SubSpace, values: dict[str, Any], job_id: str, notes: list[str]
) -> tuple[Params | None, str]:
    params: Params = {}
    autos = []
    for name, dim in sub.dimensions.items():
        value = values.get(name, AUTO)
        if dim.contains(value):
            params[name] = _typed(dim, value)
        elif dim.contains(AUTO):
            params[name] = AUTO
            autos.append(f"{name} {value!r}")
        else:
            return None, f"{name} {value!r} is outside the sweep's space ({_describe(dim)})"
    if not sub.contains(params):
        return None, "its values are not a row of the sweep's zipped dimensions"
    if autos:
        notes.append(f"job {job_id}: taken as auto: {', '.join(autos)}")
    return params, ""


def _typed(dim: Dimension, value: Any) -> Any:
    if isinstance(value, str) or isinstance(dim, Categorical):
        return value
    return int(value) if isinstance(dim, IntRange) else float(value)


def _describe(dim: Dimension) -> str:
    if isinstance(dim, Categorical):
        return "one of " + ", ".join(map(str, dim.values))
    text = f"{dim.low} to {dim.high}"
    return text + (", or auto" if dim.auto else "")


def _create(
    sweep: Sweep, result: Result, params: Params, number: int, costing: Costing | None = None
) -> tuple[TrialRecord, Create]:
    """The trial a job becomes (numbered as the study will number it) and its write."""
    job = result.job
    assert job is not None
    told = priced(costing, params, job_of(result))
    cost = cost_of(costing, params, told) if sweep.costs else None
    outcome = outcome_of(sweep, result, cost)
    state = State.RUNNING
    if outcome is not None:
        state = State.FAIL if outcome[0] == "fail" else State.COMPLETE
    values = outcome[1] if outcome and state == State.COMPLETE else None
    started = _moment(job.created_at)
    completed = _moment(job.finished_at or job.created_at) if state.finished else None
    record = TrialRecord(
        number,
        trial_key(sweep.name, number),
        params,
        state,
        values=values,
        origin="import",
        job=told,
        started=started,
        completed=completed,
    )
    create = Create(
        params,
        state=state,
        values=values,
        origin="import",
        job=record.job,
        started=started,
        completed=completed,
        number=number,
    )
    return record, create


def _moment(unix: int | None) -> datetime | None:
    return datetime.fromtimestamp(unix, tz=UTC) if unix else None

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
from ftsweep.errors import Problem, ResultsError
from ftsweep.progress import track
from ftsweep.study.feedback import TellReport, job_of, outcome_of, tell_locked
from ftsweep.study.jobs import DATA_FILES, JobInfo
from ftsweep.study.store.attrs import config_attrs, job_attrs, job_id
from ftsweep.study.sweep_study import DISCARDED, ORIGIN, SweepStudy, original_number
from ftsweep.sweep.dimensions import Categorical, Dimension, IntRange
from ftsweep.sweep.space import Params, SubSpace

if TYPE_CHECKING:
    from ftsweep.study.results import Result

__all__ = ["ImportReport", "import_jobs"]


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
    """Add the new job objects among `results` as trials, then tell the other rows and the jobs
    the study already has (asked for by ftsweep, or imported before)."""
    report = ImportReport()
    with study.location.lock(study.name):
        optuna_study = study.study()
        live = [
            t for t in optuna_study.get_trials(deepcopy=False) if DISCARDED not in t.system_attrs
        ]
        known = {str(job_id(t.user_attrs)) for t in live}
        ours = {study.key(original_number(t)) for t in live}
        # A job the study already has (ftsweep asked for it, or an earlier import added it) is
        # told instead: importing again applies what changed, such as its final status.
        jobs = [
            r for r in results if r.job is not None and r.key not in ours and r.job_id not in known
        ]
        rows = [r for r in results if r not in jobs]
        report.existing = len(results) - len(jobs) - sum(r.job is None for r in results)
        creates, problems = _check(study, jobs, known, report, force)
        if problems:
            sources = ", ".join(dict.fromkeys(r.source for r in jobs))
            raise ResultsError(sources, problems, done="imported")
        for result, params in track(creates, len(creates), "importing jobs"):
            _create(study, optuna_study, result, params)
        report.imported = len(creates)
        if rows:
            report.told = tell_locked(study, rows, force=force)
    return report


def _check(
    study: SweepStudy, jobs: Sequence[Result], known: set[str], report: ImportReport, force: bool
) -> tuple[list[tuple[Result, Params]], list[Problem]]:
    creates: list[tuple[Result, Params]] = []
    problems: list[Problem] = []
    for result in jobs:
        assert result.job is not None
        if result.job.id in known:
            report.existing += 1
            continue
        known.add(result.job.id)
        reasons = _other_files(study, result.job, force, report.notes)
        params, reason = _params(study, result, report.notes)
        reasons += [reason] if params is None else []
        problems += [Problem(("job", result.job.id), r, line=result.row) for r in reasons]
        if params is not None and not reasons:
            creates.append((result, params))
    return creates, problems


def _other_files(study: SweepStudy, job: JobInfo, force: bool, notes: list[str]) -> list[str]:
    """Why a job trained or validated on other files than the sweep's is another experiment;
    forced, the job is imported all the same, with a note."""
    reasons = []
    for name in DATA_FILES:
        ours = getattr(study.sweep.spec, name)
        if name in job.files and job.files[name] != ours:
            reasons.append(f"{name} {_file(job.files[name])} is not the sweep's ({_file(ours)})")
    if reasons and force:
        notes.append(f"job {job.id}: {'; '.join(reasons)}: imported all the same (--force)")
        return []
    return [f"{r}: another experiment; import --force to take it all the same" for r in reasons]


def _file(name: str | None) -> str:
    return repr(name) if name else "none"


def _params(study: SweepStudy, result: Result, notes: list[str]) -> tuple[Params | None, str]:
    job = result.job
    assert job is not None
    sweep = study.sweep
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


def _create(study: SweepStudy, optuna_study: Any, result: Result, params: Params) -> None:
    from optuna.trial import TrialState, create_trial

    outcome = outcome_of(study, result)
    state = TrialState.RUNNING
    if outcome is not None:
        state = TrialState.FAIL if outcome[0] == "fail" else TrialState.COMPLETE
    encoded = study.encoding.encode(params)
    distributions = study.encoding.distributions()
    template = create_trial(
        state=state,
        values=outcome[1] if outcome and state == TrialState.COMPLETE else None,
        params=encoded,
        distributions={k: distributions[k] for k in encoded},
        user_attrs={**config_attrs(params), **job_attrs(job_of(result))},
        system_attrs={ORIGIN: "import"},
    )
    job = result.job
    assert job is not None
    if job.created_at:
        template.datetime_start = datetime.fromtimestamp(job.created_at, tz=UTC)
    if state.is_finished():
        finished = job.finished_at or job.created_at
        template.datetime_complete = datetime.fromtimestamp(finished, tz=UTC) if finished else None
    study.storage.create_new_trial(optuna_study._study_id, template_trial=template)

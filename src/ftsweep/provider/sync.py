"""Pull a sweep's jobs from its backend and tell the study what they report.

`sync` reads the sweep's jobs page by page (one listing, not one request per job, since the
list carries status, resolved hyperparameters, trained tokens and result files), matches each
to its trial (by the job id stored at submission; by the key in its metadata, or its suffix on
Azure's dated API, for a trial whose create answer was lost), reads the per-step metrics of
each job that succeeded since the last sync, reduces them with the objective's `reduce`, and
tells the study through the same path as `ftsweep tell`: syncing twice changes nothing. Failed
and cancelled jobs fail their trials, with the job's error. Jobs that name no trial of the study
(created outside ftsweep) are left alone: `ftsweep import` is for those.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ftsweep.api.job_object import JobObject
from ftsweep.errors import ResultsError
from ftsweep.provider.backend import Backend
from ftsweep.provider.submit import claim_is_gone, earliest_job
from ftsweep.study.feedback import TellReport, plan_tell
from ftsweep.study.records import State, TrialRecord
from ftsweep.study.results import parse_job
from ftsweep.study.rows import Result
from ftsweep.study.steps import reduce_steps
from ftsweep.study.sweep_study import SweepStudy
from ftsweep.sweep.spec import COST_METRIC

__all__ = ["NOT_SUBMITTED", "JobView", "SyncReport", "in_flight", "sync", "watch"]

#: The status shown for a trial whose submit was interrupted before its job was created.
NOT_SUBMITTED = "not submitted"


@dataclass(frozen=True)
class JobView:
    """One job as the last sync saw it, for progress views."""

    key: str
    job_id: str | None
    status: str
    created_at: int | None
    finished_at: int | None
    values: tuple[float, ...] | None


@dataclass
class SyncReport:
    """What a sync saw and told: the jobs it matched, the tell's own report, and notes (a job
    that succeeded but reports no objective metric, say)."""

    jobs: list[JobView] = field(default_factory=list)
    told: TellReport = field(default_factory=TellReport)
    notes: list[str] = field(default_factory=list)

    @property
    def running(self) -> int:
        """Jobs not finished yet (a trial whose submit died has none: it is not counted)."""
        done = ("succeeded", "failed", "cancelled", NOT_SUBMITTED)
        return sum(1 for j in self.jobs if j.status not in done)


def in_flight(trials: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The trials whose job may still change: running, with a job or a claim to one."""
    return [
        t for t in trials if t.live and t.state == State.RUNNING and (t.job.id or t.job.submitter)
    ]


def sync(study: SweepStudy, backend: Backend, *, parallel: int = 8) -> SyncReport:
    """Bring the study up to date with its jobs on `backend`; see the module docstring. The
    metrics of newly finished jobs are read `parallel` jobs at a time."""
    trials = study.trials()
    scope = in_flight(trials)
    report = SyncReport()
    if not scope:
        return report
    matched, doubles = _match(study, backend, scope)
    _cancel_doubles(backend, doubles, report)

    def result(row: int) -> Result:
        trial, job = matched[row - 1]
        return _result(study, backend, trial, job, row, report)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="sync") as pool:
        results = list(pool.map(result, range(1, len(matched) + 1)))
    with study.store.lock():
        trials = study.store.load(write=True).trials
        told, writes = plan_tell(study.sweep, trials, results, force=False, costing=study.money())
        study.store.apply(writes)
    report.told = told
    values = {t.number: t.values for t in trials}
    for trial, job in matched:
        report.jobs.append(_view(trial, job, values.get(trial.number)))
    seen = {t.number for t, _ in matched}
    for trial in scope:
        if trial.number in seen:
            continue
        if claim_is_gone(trial):  # its submit died before the job was made: nothing runs
            report.notes.append(
                f"{trial.key} has no job (its submit was interrupted): run "
                f"`ftsweep submit {study.sweep.file}` to submit it"
            )
            report.jobs.append(JobView(trial.key, None, NOT_SUBMITTED, None, None, None))
        else:
            report.jobs.append(JobView(trial.key, None, "submitting", None, None, None))
    return report


Pair = tuple[TrialRecord, JobObject]


def watch(
    study: SweepStudy,
    backend: Backend,
    *,
    interval: float,
    on_sync: Callable[[SyncReport], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Sync every `interval` seconds until no job of the sweep is running; the last report."""
    while True:
        report = sync(study, backend)
        on_sync(report)
        if not report.running:
            return report
        sleep(interval)


def _match(
    study: SweepStudy, backend: Backend, scope: list[TrialRecord]
) -> tuple[list[Pair], list[Pair]]:
    """Each trial in `scope` with its job as the service reports it now; and the second jobs
    some trials got (a job that names a trial holding another job id)."""
    by_id = {t.job.id: t for t in scope if t.job.id}
    by_key = {t.key: t for t in scope}
    suffixes = {_suffix(study, t): t for t in scope} if not backend.keeps_metadata else {}
    since = min(earliest_job(t) for t in scope)
    found: dict[int, Pair] = {}
    doubles: list[Pair] = []
    for job in backend.jobs(study.name, since):
        trial = by_id.get(job.id)
        if trial is None:
            trial = _named_trial(job, by_key, suffixes, backend.keeps_metadata)
            if trial is not None and trial.job.id is not None:
                doubles.append((trial, job))
                continue
        if trial is None:
            continue
        held = found.get(trial.number)
        if held is None:
            found[trial.number] = (trial, job)
        else:  # two jobs for a trial whose answers were both lost: keep the older one
            older, newer = sorted((held[1], job), key=lambda j: j.created_at or 0)
            found[trial.number] = (trial, older)
            doubles.append((trial, newer))
    for job_id, trial in by_id.items():
        if trial.number not in found:  # not listed (older than the scan, or a list that lags)
            found[trial.number] = (trial, backend.job(job_id))
    return sorted(found.values(), key=lambda pair: pair[0].number), doubles


def _cancel_doubles(backend: Backend, doubles: list[Pair], report: SyncReport) -> None:
    """Cancel each running second job of a trial (the study keeps its first): a create whose
    answer was lost, retried, and made by a service slower than the look-up allowed for. Only
    where jobs carry the trial's key: a suffix alone cannot prove whose job it is."""
    for trial, job in doubles:
        if not backend.keeps_metadata:  # matched on its suffix alone: it may be another's
            what = "the same suffix; not cancelled, since this API keeps no metadata to tell"
            report.notes.append(f"{trial.key} and job {job.id} share {what}")
            continue
        if job.finished is None:
            backend.cancel(job.id)
            what = "cancelled it"
        else:
            what = f"it is {job.status}; the trial keeps {trial.job.id or 'its first job'}"
        report.notes.append(f"{trial.key} has a second job {job.id}: {what}")


def _named_trial(
    job: JobObject,
    by_key: Mapping[str, TrialRecord],
    suffixes: Mapping[str | None, TrialRecord],
    keeps_metadata: bool,
) -> TrialRecord | None:
    """The trial `job` names (its key, or on the dated Azure API its suffix), if it can be that
    trial's job (made after the trial was)."""
    trial = by_key.get(job.key or "") if keeps_metadata else suffixes.get(job.user_provided_suffix)
    if trial is None or (job.created_at or 0) < earliest_job(trial):
        return None
    return trial


def _suffix(study: SweepStudy, trial: TrialRecord) -> str | None:
    suffix = study.renderer.body(trial.number, trial.params or {}).get("suffix")
    return str(suffix) if suffix is not None else None


def _result(
    study: SweepStudy,
    backend: Backend,
    trial: TrialRecord,
    job: JobObject,
    row: int,
    report: SyncReport,
) -> Result:
    """What the job says of its trial, with its reduced metrics once it has succeeded."""
    data: dict[str, Any] = job.model_dump(mode="json")
    try:
        result = parse_job(data, backend.describe(), row)
    except ResultsError as error:  # a job object ftsweep cannot read: record status only
        report.notes.append(f"{trial.key}: job {job.id}: {error}")
        result = parse_job({"id": job.id, "model": job.model, "status": job.status}, "", row)
    result = dataclasses.replace(result, key=trial.key, trial=None)
    if job.finished != "succeeded":
        return result
    # trained_tokens is the job's own field, cost is priced from it: neither is a step metric
    metrics = [o.metric for o in study.sweep.objectives if o.metric not in _NOT_STEPS]
    rows = backend.steps(job, metrics)
    values: dict[str, float] = {}
    for objective in study.sweep.objectives:
        if objective.metric in _NOT_STEPS:
            continue
        value = reduce_steps(rows, objective.metric, objective.reduce)
        if value is None:
            # The sweep cannot learn from it: the trial fails (a `tell --force` can still
            # give its result), so that waiting for the sweep ends.
            why = f"the job succeeded but reports no {objective.metric}"
            report.notes.append(f"{trial.key}: job {job.id}: {why}; its trial is failed")
            return dataclasses.replace(result, status="failed", error=why)
        values[objective.metric] = value
    return dataclasses.replace(result, values=values)


_NOT_STEPS = ("trained_tokens", COST_METRIC)


def _view(trial: TrialRecord, job: JobObject, values: tuple[float, ...] | None) -> JobView:
    return JobView(trial.key, job.id, job.status, job.created_at, job.finished_at, values)

"""Pull a sweep's jobs from its backend and tell the study what they report.

`sync` reads the sweep's jobs page by page (one listing, not one request per job, since the
list carries status, resolved hyperparameters, trained tokens and result files), matches each
to its trial (by the job id stored at submission; by the key in its metadata, or its suffix on
Azure's dated API, for a trial whose create answer was lost), reads the per-step metrics of
each job that succeeded since the last sync, reduces them with the objective's `reduce`, and
tells the study through the same path as `ftsweep tell`: syncing twice changes nothing. Failed
and cancelled jobs fail their trials, with the job's error. Jobs that name no trial of the study
(created outside ftsweep) are left alone: `ftsweep import` is for those.

With `prune:` in the sweep, sync also reads the metric events of every running job (a request
per 100 events, and one for its checkpoints while the metric is not there yet: that is what
pruning costs) and stores each job's curve of the prune metric on its trial as Optuna's
intermediate values, by progress; a job that succeeds stores its whole curve. With `prune` it
then stops the jobs judged hopeless (`ftsweep.provider.prune`); without, it only says which.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ftsweep.api.job_object import JobObject
from ftsweep.errors import PlanError, ResultsError
from ftsweep.provider.backend import Backend
from ftsweep.provider.prune import PrunedTrial, settle, stop_hopeless
from ftsweep.provider.submit import claim_is_gone, earliest_job
from ftsweep.study.cells import finite, whole
from ftsweep.study.curves import JobCurve, job_curve, prune_metric, report
from ftsweep.study.feedback import TellReport, plan_tell
from ftsweep.study.records import State, TrialRecord, Write
from ftsweep.study.results import parse_job
from ftsweep.study.rows import Result
from ftsweep.study.steps import reduce_steps
from ftsweep.study.sweep_study import SweepStudy
from ftsweep.sweep.spec import COST_METRIC

__all__ = ["NOT_SUBMITTED", "JobView", "PrunedTrial", "SyncReport", "in_flight", "sync", "watch"]

#: The status shown for a trial whose submit was interrupted before its job was created.
NOT_SUBMITTED = "not submitted"


@dataclass(frozen=True)
class JobView:
    """One job as the last sync saw it, for progress views: `step` (of `total_steps`) and the
    latest value of a metric (`latest`: name, value) where the job tells how it goes as it
    trains (the local trainer does; a service's job object does not)."""

    key: str
    job_id: str | None
    status: str
    created_at: int | None
    finished_at: int | None
    values: tuple[float, ...] | None
    step: int | None = None
    total_steps: int | None = None
    latest: tuple[str, float] | None = None


@dataclass
class SyncReport:
    """What a sync saw and told: the jobs it matched, the tell's own report, the trials it
    pruned, the running ones a sync with `prune` would stop (`hopeless`), the trials whose
    curves it stored, and notes (a job that succeeded but reports no objective metric, say)."""

    jobs: list[JobView] = field(default_factory=list)
    told: TellReport = field(default_factory=TellReport)
    notes: list[str] = field(default_factory=list)
    pruned: list[PrunedTrial] = field(default_factory=list)
    hopeless: list[str] = field(default_factory=list)
    curves: int = 0

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


def sync(
    study: SweepStudy, backend: Backend, *, parallel: int = 8, prune: bool = False
) -> SyncReport:
    """Bring the study up to date with its jobs on `backend`; see the module docstring. The
    metrics of newly finished jobs (and, with `prune:` in the sweep, the curves of running
    ones) are read `parallel` jobs at a time. `prune`: stop the jobs the sweep's rule judges
    hopeless (a PlanError when the sweep has no `prune:` section)."""
    if prune and study.sweep.spec.prune is None:
        raise PlanError(
            f"{study.sweep.file}: pruning needs a `prune:` section in the sweep file "
            "(prune: {rule: median}, say); without one, sync stops no job"
        )
    trials = study.trials()
    scope = in_flight(trials)
    report = SyncReport()
    if not scope:
        return report
    matched, doubles = _match(study, backend, scope)
    _cancel_doubles(backend, doubles, report)
    curves, values = _tell(study, backend, matched, report, parallel)
    metric = study.sweep.objectives[0].metric
    views = {
        trial.number: _view(trial, job, values.get(trial.number), metric) for trial, job in matched
    }
    if study.sweep.spec.prune is not None:
        _prune(study, backend, matched, curves, report, views, act=prune, parallel=parallel)
    report.jobs = list(views.values())
    seen = {t.number for t, _ in matched}
    report.jobs += [_unmatched(study, t, report) for t in scope if t.number not in seen]
    return report


def _prune(
    study: SweepStudy,
    backend: Backend,
    matched: list[Pair],
    curves: dict[int, JobCurve],
    report: SyncReport,
    views: dict[int, JobView],
    *,
    act: bool,
    parallel: int,
) -> None:
    """The pruning pass (`stop_hopeless`), its jobs that finished before their cancel took told
    as they finished, and the views of the jobs it stopped."""
    done = stop_hopeless(study, backend, matched, curves, act=act)
    report.pruned += done.pruned
    report.hopeless, report.notes = done.hopeless, [*report.notes, *done.notes]
    if done.late:
        _tell(study, backend, done.late, report, parallel)
    for trial, job in [*done.late, *done.stopped]:
        views[trial.number] = _view(trial, job, None, study.sweep.objectives[0].metric)


def _unmatched(study: SweepStudy, trial: TrialRecord, report: SyncReport) -> JobView:
    """The view of a trial in flight whose job the service does not list."""
    if claim_is_gone(trial):  # its submit died before the job was made: nothing runs
        report.notes.append(
            f"{trial.key} has no job (its submit was interrupted): run "
            f"`ftsweep submit {study.sweep.file}` to submit it"
        )
        return JobView(trial.key, None, NOT_SUBMITTED, None, None, None)
    return JobView(trial.key, None, "submitting", None, None, None)


def _tell(
    study: SweepStudy, backend: Backend, pairs: list[Pair], report: SyncReport, parallel: int
) -> tuple[dict[int, JobCurve], dict[int, tuple[float, ...] | None]]:
    """Read what each job of `pairs` reports and tell the study in one write: results, curves,
    decided prunings whose jobs are now cancelled. The curves read, and the trials' values (as
    the study held them before the write), by trial number."""
    metric = prune_metric(study.sweep)[0] if study.sweep.spec.prune is not None else None

    def read(row: int) -> tuple[Result, JobCurve | None]:
        trial, job = pairs[row - 1]
        return _result(study, backend, trial, job, row, report, metric)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="sync") as pool:
        read_all = list(pool.map(read, range(1, len(pairs) + 1)))
    curves = {pairs[i][0].number: c for i, (_, c) in enumerate(read_all) if c is not None}
    with study.store.lock():
        trials = study.store.load(write=True).trials
        results, settled, pruned = settle(study, trials, pairs, [r for r, _ in read_all])
        told, writes = plan_tell(study.sweep, trials, results, force=False, costing=study.money())
        reports = _reports(trials, curves)
        study.store.apply([*reports, *settled, *writes])
    report.told = _added(report.told, told)
    report.pruned += pruned
    report.curves += len(reports)
    return curves, {t.number: t.values for t in trials}


def _reports(trials: list[TrialRecord], curves: dict[int, JobCurve]) -> list[Write]:
    by_number = {t.number: t for t in trials}
    found = (report(by_number[n], c) for n, c in curves.items() if n in by_number)
    return [w for w in found if w is not None]


def _added(first: TellReport, second: TellReport) -> TellReport:
    """Two tells of one sync as one report (a job that finished before its cancel took is
    told after the others)."""
    if first == TellReport():
        return second
    return TellReport(
        first.finished + second.finished,
        first.failed + second.failed,
        first.updated + second.updated,
        first.unchanged + second.unchanged,
        first.superseded + second.superseded,
        [*first.unknown, *second.unknown],
        [*first.notes, *second.notes],
    )


Pair = tuple[TrialRecord, JobObject]


def watch(
    study: SweepStudy,
    backend: Backend,
    *,
    interval: float,
    on_sync: Callable[[SyncReport], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    prune: bool = False,
) -> SyncReport:
    """Sync every `interval` seconds until no job of the sweep is running; the last report."""
    while True:
        report = sync(study, backend, prune=prune)
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
    metric: str | None,
) -> tuple[Result, JobCurve | None]:
    """What the job says of its trial, with its reduced metrics once it has succeeded; and its
    curve of `metric` (the prune metric; None: none is read) while it runs or once it
    succeeded."""
    data: dict[str, Any] = job.model_dump(mode="json")
    try:
        result = parse_job(data, backend.describe(), row)
    except ResultsError as error:  # a job object ftsweep cannot read: record status only
        report.notes.append(f"{trial.key}: job {job.id}: {error}")
        result = parse_job({"id": job.id, "model": job.model, "status": job.status}, "", row)
    result = dataclasses.replace(result, key=trial.key, trial=None)
    batch = _batch_size(result) if metric is not None else None
    if job.finished != "succeeded":
        if batch is None or metric is None or job.status != "running":
            return result, None
        return result, job_curve(backend.steps(job, [metric]), metric, batch)
    # trained_tokens is the job's own field, cost is priced from it: neither is a step metric
    metrics = [o.metric for o in study.sweep.objectives if o.metric not in _NOT_STEPS]
    rows = backend.steps(job, list(dict.fromkeys([*metrics, *([metric] if metric else [])])))
    curve = job_curve(rows, metric, batch) if metric is not None and batch is not None else None
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
            return dataclasses.replace(result, status="failed", error=why), None
        values[objective.metric] = value
    return dataclasses.replace(result, values=values), curve


def _batch_size(result: Result) -> int | None:
    """The batch size the service resolved for the job (None while "auto" is unresolved:
    progress cannot be told yet)."""
    batch = result.resolved.get("batch_size")
    return batch if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0 else None


_NOT_STEPS = ("trained_tokens", COST_METRIC)


def _view(
    trial: TrialRecord, job: JobObject, values: tuple[float, ...] | None, metric: str
) -> JobView:
    view = JobView(trial.key, job.id, job.status, job.created_at, job.finished_at, values)
    progress = (job.model_extra or {}).get("progress")
    if not isinstance(progress, dict) or job.finished is not None:
        return view
    found = progress.get("latest")
    latest: dict[str, Any] = found if isinstance(found, dict) else {}
    shown = next((m for m in (metric, "valid_loss", "train_loss") if m in latest), None)
    value = finite(latest.get(shown)) if shown else None
    return dataclasses.replace(
        view,
        step=whole(progress.get("step")),
        total_steps=whole(progress.get("total_steps")),
        latest=(shown, value) if shown and value is not None else None,
    )

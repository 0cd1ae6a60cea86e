"""Stopping hopeless jobs early: a sweep's `prune:` section at work in `sync --prune` and `run`.

With `prune:` in the sweep, every sync reads the metric events of each running job and stores
its curve on its trial (`ftsweep.study.curves`). With `--prune` (and always in `run`) it then
judges each running job against the other trials' curves (`ftsweep.study.pruning.judge`) and
stops the hopeless ones, in three steps:

1. under the study's lock, the decision is stored on the trial (`MarkPruned`: its step, value
   and what stopping it saves);
2. the job is cancelled;
3. once the service answers that it is cancelled, the trial is finished as pruned.

A command killed between 1 and 3 leaves a running trial holding a decision: the next sync
finishes it as pruned once it sees its job cancelled (and, with `--prune`, cancels a job still
running), so a rerun cancels nothing twice and counts no saving twice. A job that finished
before its cancel took (the service refuses the cancel, or answers with the finished job) is
recorded as it finished, not as pruned. Only a job whose id the trial held before this sync is
cancelled: never one matched by its suffix alone.

A pruned trial is finished: never submitted again, counted towards `max_trials`, no failure,
and seen by Optuna's samplers as pruned with its curve (TPE ranks pruned trials by how far they
got, then by their last value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ftsweep.api.job_object import JobObject
from ftsweep.errors import RefusedError
from ftsweep.provider.backend import Backend
from ftsweep.provider.submit import job_record
from ftsweep.study.curves import JobCurve, hopeless, pruning
from ftsweep.study.feedback import priced
from ftsweep.study.records import (
    Finish,
    MarkPruned,
    Pruned,
    RecordJob,
    State,
    TrialRecord,
    Write,
)
from ftsweep.study.rows import Result
from ftsweep.study.sweep_study import SweepStudy

__all__ = ["PrunedTrial", "Pruning", "settle", "stop_hopeless"]

Pair = tuple[TrialRecord, JobObject]


@dataclass(frozen=True)
class PrunedTrial:
    """A trial finished as pruned: its key, its job and where it stopped (`Pruned`)."""

    key: str
    job_id: str
    pruned: Pruned


@dataclass
class Pruning:
    """What a pruning pass did: trials pruned, with their jobs as the cancels answered
    (`stopped`); keys judged hopeless but left running (a sync without `--prune`); jobs that
    finished before their cancel took, to be told as they finished; notes."""

    pruned: list[PrunedTrial] = field(default_factory=list)
    stopped: list[Pair] = field(default_factory=list)
    hopeless: list[str] = field(default_factory=list)
    late: list[Pair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def settle(
    study: SweepStudy,
    trials: Sequence[TrialRecord],
    pairs: Sequence[Pair],
    results: Sequence[Result],
) -> tuple[list[Result], list[Write], list[PrunedTrial]]:
    """The results of `pairs` to tell, less those of trials decided pruned whose job is now
    cancelled: their writes finish them as pruned (a cancelled job otherwise fails its trial),
    and they are listed. `trials` are the study's, loaded under the lock."""
    now = {t.number: t for t in trials}
    keep: list[Result] = []
    writes: list[Write] = []
    done: list[PrunedTrial] = []
    for (trial, job), result in zip(pairs, results, strict=True):
        held = now.get(trial.number)
        if _running(held) and held is not None and held.pruned and job.finished == "cancelled":
            writes += _finished(study, held, job)
            done.append(PrunedTrial(held.key, job.id, held.pruned))
        else:  # undecided; still running (its cancel on the way); or finished before it took
            keep.append(result)
    return keep, writes, done


def stop_hopeless(
    study: SweepStudy,
    backend: Backend,
    pairs: Sequence[Pair],
    curves: Mapping[int, JobCurve],
    *,
    act: bool,
) -> Pruning:
    """Judge the running jobs of `pairs` (each trial as it was before this sync, with its job as
    the service reported it now) on the trials' stored curves; with `act`, stop the hopeless
    ones and the ones an earlier, interrupted pass decided to stop (see the module docstring).
    `curves` are the curves this sync read, by trial number."""
    out = Pruning()
    trials = study.trials()
    now = {t.number: t for t in trials}
    running = [
        (now[t.number], job)
        for t, job in pairs
        if job.finished is None and t.job.id == job.id and _running(now.get(t.number))
    ]
    undecided = {t.number: job for t, job in running if t.pruned is None and t.number in curves}
    data = study.costing.data if study.costing is not None else None
    verdicts = hopeless(study.sweep, trials, undecided, data.examples if data else None)
    if not act:
        out.hopeless = [t.key for t, _ in verdicts]
        return out
    made = {t.number: pruning(t, curves[t.number], study.costing) for t, _ in verdicts}
    stopping = {t.number for t, _ in running if t.pruned is not None} | set(_mark(study, made))
    answers = [(t, _cancel(backend, job.id)) for t, job in running if t.number in stopping]
    _record(study, answers, out)
    return out


def _running(trial: TrialRecord | None) -> bool:
    return trial is not None and trial.live and trial.state == State.RUNNING


def _mark(study: SweepStudy, made: Mapping[int, Pruned]) -> dict[int, Pruned]:
    """Store the decisions on trials still running and undecided; the ones stored."""
    if not made:
        return {}
    with study.store.lock():
        now = {t.number: t for t in study.store.load(write=True).trials}
        kept = {n: p for n, p in made.items() if _running(now.get(n)) and now[n].pruned is None}
        study.store.apply([MarkPruned(n, p) for n, p in kept.items()])
    return kept


def _cancel(backend: Backend, job_id: str) -> JobObject:
    """The job as its cancel answered; as it is now, when the service refused the cancel (it
    finished meanwhile, most likely: the answer says how)."""
    try:
        return backend.cancel(job_id)
    except RefusedError:
        return backend.job(job_id)


def _record(study: SweepStudy, answers: Sequence[Pair], out: Pruning) -> None:
    """Finish as pruned each trial whose job the service now reports cancelled; the jobs that
    finished otherwise are `late`, to be told as they finished."""
    if not answers:
        return
    writes: list[Write] = []
    with study.store.lock():
        now = {t.number: t for t in study.store.load(write=True).trials}
        for trial, job in answers:
            held = now.get(trial.number)
            if held is None or not _running(held) or held.pruned is None:
                continue  # another process recorded it meanwhile
            if job.finished == "cancelled":
                writes += _finished(study, held, job)
                out.pruned.append(PrunedTrial(held.key, job.id, held.pruned))
                out.stopped.append((held, job))
            elif job.finished is not None:
                out.late.append((held, job))
                why = f"{job.status} before its cancel took: recorded as it finished"
                out.notes.append(f"{held.key}: job {job.id} {why}")
            else:
                why = f"is {job.status} after its cancel: a later sync records it as pruned"
                out.notes.append(f"{held.key}: job {job.id} {why}")
        study.store.apply(writes)


def _finished(study: SweepStudy, trial: TrialRecord, job: JobObject) -> list[Write]:
    """The writes that finish a decided trial as pruned, its job as the service reports it."""
    told = priced(study.costing, trial.params, job_record(job))
    when = datetime.fromtimestamp(job.finished_at, tz=UTC) if job.finished_at else None
    if when is not None and trial.started is not None and when < trial.started:
        when = None  # a clock that disagrees: the write's own time
    return [RecordJob(trial.number, told), Finish(trial.number, State.PRUNED, None, when)]

"""Cancel a sweep's jobs, and the closed loop: keep K jobs in flight until the sweep is done.

`run` repeats: sync (tell the study what finished, and with `prune:` in the sweep stop the jobs
judged hopeless: `ftsweep.provider.prune`), submit new trials while fewer than K jobs are in
flight (the trials an interrupted submit left without a job go first, and a pruned job's slot
is taken at once), wait. It ends when nothing is in flight and nothing more can be asked
(`max_trials` reached, the space used up). Every step is stored as it happens, so a `run`
killed at any moment and started again carries on where it was: no trial gets a second job, no
finished job is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from ftsweep.errors import RefusedError, ServiceError, StudyError
from ftsweep.provider.backend import Backend
from ftsweep.provider.files import upload_data_files
from ftsweep.provider.prune import PrunedTrial
from ftsweep.provider.retry import Retry
from ftsweep.provider.submit import SubmitReport, job_record, submit
from ftsweep.provider.sync import SyncReport, in_flight, sync
from ftsweep.study.records import RecordJob
from ftsweep.study.sweep_study import SweepStudy

__all__ = ["CancelReport", "RunReport", "cancel", "run"]


@dataclass
class CancelReport:
    """Jobs asked to cancel (key, job id, status answered), keys that had no running job, and
    jobs the service would not cancel (key, its message: finished meanwhile, say)."""

    cancelled: list[tuple[str, str, str]] = field(default_factory=list)
    not_running: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def cancel(
    study: SweepStudy,
    backend: Backend,
    keys: Sequence[str] = (),
    *,
    retry: Retry | None = None,
) -> CancelReport:
    """Cancel the running jobs of the trials `keys` names (none named: every running job)."""
    retry = retry or Retry()
    flying = {t.key: t for t in in_flight(study.trials()) if t.job.id}
    for key in keys:
        if study.number_of(key) is None:
            raise StudyError(f"{key!r} is no trial key of sweep {study.name}")
    report = CancelReport()
    chosen = [flying[k] for k in dict.fromkeys(keys) if k in flying] if keys else flying.values()
    report.not_running = [k for k in dict.fromkeys(keys) if k not in flying]
    for trial in chosen:
        assert trial.job.id is not None
        try:
            job = retry.call(partial(backend.cancel, trial.job.id))
        except RefusedError as error:  # finished since the last sync: sync records how
            report.refused.append((trial.key, str(error)))
            continue
        with study.store.lock():
            study.store.apply([RecordJob(trial.number, job_record(job))])
        report.cancelled.append((trial.key, job.id, job.status))
    return report


@dataclass
class RunReport:
    """What a run did in all: jobs submitted, syncs, trials pruned, and why it ended."""

    submitted: int = 0
    refused: int = 0
    rounds: int = 0
    ended: str = ""
    pruned: list[PrunedTrial] = field(default_factory=list)


def run(
    study: SweepStudy,
    backend: Backend,
    *,
    parallel: int,
    interval: float,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_sync: Callable[[SyncReport], None] = lambda _: None,
    on_submit: Callable[[SubmitReport], None] = lambda _: None,
) -> RunReport:
    """The closed loop; see the module docstring."""
    report = RunReport()
    with study.store.lock():  # a run may be the sweep's first command: make its study
        study.store.load(write=True)
    files = upload_data_files(study, backend)  # once per run, not once per round
    prune = study.sweep.spec.prune is not None
    while True:
        report.rounds += 1
        synced = sync(study, backend, prune=prune)
        report.pruned += synced.pruned
        on_sync(synced)
        # Only trials with a job here hold a slot: one whose submit died is resubmitted below,
        # and a job that another machine trains (the local backend) takes none of this one's.
        flying = sum(1 for t in in_flight(study.trials()) if t.job.id and backend.holds(t.job.id))
        submitted = None
        if flying < parallel:
            free = parallel - flying
            submitted = submit(
                study, backend, count=free, parallel=parallel, retry=retry, files=files
            )
            on_submit(submitted)
            report.submitted += submitted.submitted
            report.refused += len(submitted.refused)
            flying += submitted.submitted
            if submitted.refused and not submitted.submitted and not flying:
                raise ServiceError(
                    f"the service refused every job of the last round ({submitted.refused[0][1]})"
                )
        if not flying:
            shortfall = submitted.shortfall if submitted is not None else None
            report.ended = shortfall.reason if shortfall else "nothing left to run"
            return report
        sleep(interval)

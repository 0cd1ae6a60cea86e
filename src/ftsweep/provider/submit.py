"""Create the jobs of a sweep's trials on a backend: each trial gets one job, never two.

How "never two" holds, whatever is killed when:

1. Under the study's lock, `submit` *claims* the trials it will submit: it records on each one
   who (`host:pid`) sets out to create its job, and when. Trials another live process claimed
   are left to it; a claim whose process is gone (this host: its pid is dead; another host:
   older than `LEASE`) is taken over.
2. A trial that was claimed before, or asked by someone else (`ask` wrote its body to a file, and
   the body may have been sent by hand), may already have a job: the sweep's jobs are listed
   once, and a job carrying the trial's key (created after the trial was) is linked, not made
   again. A trial this very command just asked cannot have a job yet and is not looked up.
3. A create is sent once, with the client's retries off. When its answer is lost (dropped
   connection, timeout, 5xx, 429), the trial's job is looked up before the create is sent
   again; after a timeout, only once the request's own timeout has passed again (the service
   may still be making the job). The id of each job is stored on its trial as soon as it is
   known. Should a service that slow still make a second job, `sync` finds it (the trial holds
   another job id) and cancels it.

A body the service refuses (400) fails its trial with the service's message; the others go on.
Refused credentials stop the command (nothing more is sent).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ftsweep.api.job_object import JobObject, error_text, load_job
from ftsweep.errors import RefusedError, ServiceError, StudyError
from ftsweep.provider.backend import Backend, Transient, TrialJob
from ftsweep.provider.files import upload_data_files, with_files
from ftsweep.provider.retry import Retry
from ftsweep.study.batch import Shortfall
from ftsweep.study.delivery import owner_gone
from ftsweep.study.records import Finish, JobRecord, RecordJob, State, TrialRecord, Write
from ftsweep.study.sweep_study import SweepStudy

__all__ = [
    "SKEW",
    "SubmitReport",
    "claim_is_gone",
    "earliest_job",
    "job_record",
    "submit",
    "submitter",
]

#: How much earlier than its trial a job may say it was created and still be the trial's
#: (clocks of this machine and of the service disagree by this much at most).
SKEW = 600


def submitter() -> str:
    """Who this process is, as a claim names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class SubmitReport:
    """What one `submit` did: jobs created, jobs found already there (linked), trials the
    service refused (failed, with its message), trials left to another process."""

    asked: int = 0
    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    shortfall: Shortfall | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def submitted(self) -> int:
        return len(self.created) + len(self.found)


def job_record(job: JobObject) -> JobRecord:
    """What a job object says of a trial's job."""
    _, resolved, _ = load_job(job.model_dump(mode="json"))
    return JobRecord(
        id=job.id,
        status=job.status,
        trained_tokens=job.trained_tokens,
        fine_tuned_model=job.fine_tuned_model or None,
        error=error_text(job.error),
        created_at=job.created_at,
        finished_at=job.finished_at,
        resolved=dict(resolved),
    )


@dataclass(frozen=True)
class _Claimed:
    trial: TrialRecord
    body: dict[str, Any]
    look_up: bool  # it may have a job already


def submit(
    study: SweepStudy,
    backend: Backend,
    *,
    count: int | None = None,
    batch: Path | None = None,
    parallel: int = 4,
    retry: Retry | None = None,
    files: Mapping[str, str] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> SubmitReport:
    """Create the jobs of the sweep's trials that have none: `count` new trials asked now (the
    unsubmitted ones left by an earlier submit count towards it first), the trials whose bodies
    `batch` holds, or (neither given) every trial that has no job yet. `files` are the data
    files' ids when the caller has them already (`upload_data_files`)."""
    _check_backend(study, backend)
    retry = retry or Retry()
    ids = upload_data_files(study, backend, say=say) if files is None else files
    report = SubmitReport()
    claimed = _claim(study, count, _batch_keys(study, batch), report)
    if not claimed:
        return report
    existing = _existing(study, backend, claimed)
    bodies = {c.trial.number: _body(study, c.body, ids) for c in claimed}
    _note_long_suffixes(backend, bodies.values(), report)
    found = [
        _Outcome(c.trial, existing[c.trial.key], found=True)
        for c in claimed
        if c.trial.key in existing
    ]
    if found:
        _record(study, found, report, say)
    todo = [c for c in claimed if c.trial.key not in existing]
    _create_all(study, backend, todo, bodies, parallel, retry, report, say)
    return report


def _check_backend(study: SweepStudy, backend: Backend) -> None:
    suffix = study.sweep.spec.job.suffix or ""
    if not backend.keeps_metadata and "{trial}" not in suffix:
        raise ServiceError(
            f"{study.sweep.file}: {backend.describe()} keeps no job metadata, so ftsweep finds a "
            "trial's job by its suffix: put {trial} in job.suffix (Azure allows 18 characters), "
            "or use Azure's v1 API (no api_version)"
        )


#: The longest suffix Azure's documentation allows (OpenAI allows 64: the sweep file is checked
#: against that); a longer one may be refused there, failing its trial.
AZURE_SUFFIX_LENGTH = 18


def _note_long_suffixes(
    backend: Backend, bodies: Iterable[Mapping[str, Any]], report: SubmitReport
) -> None:
    if not backend.dialect.startswith("azure"):
        return
    longest = max((str(b.get("suffix") or "") for b in bodies), key=len, default="")
    if len(longest) > AZURE_SUFFIX_LENGTH:
        report.notes.append(
            f"suffix {longest!r} has {len(longest)} characters; Azure documents at most "
            f"{AZURE_SUFFIX_LENGTH} and may refuse the job (its trial then fails)"
        )


def _body(study: SweepStudy, body: Mapping[str, Any], ids: Mapping[str, str]) -> dict[str, Any]:
    extra = study.sweep.spec.service.extra_body
    return {**with_files(body, ids), **extra}


# -- which trials ------------------------------------------------------------------------


def _batch_keys(study: SweepStudy, batch: Path | None) -> list[str] | None:
    """The trial keys of a batch file's bodies, each checked to be a trial of this sweep."""
    if batch is None:
        return None
    try:
        lines = batch.read_bytes().splitlines()
    except OSError as exc:
        raise StudyError(f"{batch}: cannot be read: {exc.strerror}") from None
    keys: list[str] = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            body = orjson.loads(line)
            key = body["metadata"]["ftsweep_trial"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise StudyError(
                f"{batch}:{line_number}: not a job body ftsweep wrote (no metadata.ftsweep_trial)"
            ) from None
        if study.number_of(str(key)) is None:
            raise StudyError(f"{batch}:{line_number}: {key!r} is no trial of sweep {study.name}")
        keys.append(str(key))
    return keys


def _claim(
    study: SweepStudy, count: int | None, keys: list[str] | None, report: SubmitReport
) -> list[_Claimed]:
    """Claim the trials to submit (see the module docstring), under the study's lock."""
    me, now = submitter(), int(time.time())
    store = study.store
    with store.lock():
        snapshot = store.load(write=True)
        by_key = {t.key: t for t in snapshot.trials if _handed_out(t, snapshot.delivered)}
        if keys is not None:
            chosen = _named(study, by_key, keys, report)
        else:
            chosen = [t for t in by_key.values() if _unsubmitted(t, report)]
        chosen = _within_budget(study, snapshot.trials, chosen[:count], report)
        claimed = [_Claimed(t, study.renderer.body(t.number, t.params or {}), True) for t in chosen]
        if count is not None and count > len(claimed) and report.shortfall is None:
            asked = study.ask(count - len(claimed))
            report.asked, report.shortfall = len(asked), asked.shortfall
            fresh = {t.number: t for t in store.load(write=True).trials}
            claimed += [_Claimed(fresh[a.number], a.body, False) for a in asked]
        store.apply([RecordJob(c.trial.number, _claim_of(study, c, me, now)) for c in claimed])
    return claimed


def _within_budget(
    study: SweepStudy,
    trials: Sequence[TrialRecord],
    chosen: list[TrialRecord],
    report: SubmitReport,
) -> list[TrialRecord]:
    """The leading trials of `chosen` that still fit the sweep's budget (it may have been
    lowered, or the prices raised, since they were handed out); the others are skipped."""
    costing = study.money()
    if costing is None or study.sweep.spec.budget is None:
        return chosen
    numbers = {t.number for t in chosen}
    others = [t for t in trials if t.number not in numbers]
    admitted, why = costing.admit(others, [t.params or {} for t in chosen])
    if why is not None:
        report.shortfall = Shortfall("budget", why)
        report.skipped += [(t.key, why) for t in chosen[len(admitted) :]]
    return chosen[: len(admitted)]


def _claim_of(study: SweepStudy, claimed: _Claimed, me: str, now: int) -> JobRecord:
    """The claim a trial gets, with its estimate when it has none yet (handed out before its
    training data could be priced)."""
    job, claim = claimed.trial.job, JobRecord(submitter=me, submitted_at=now)
    if job.estimated_tokens is not None or study.costing is None:
        return claim
    made = study.costing.estimate(claimed.trial.params or {}, job.resolved)
    if made is None:
        return claim
    return replace(claim, estimated_tokens=made.trained_tokens, estimated_cost=made.cost)


def _handed_out(trial: TrialRecord, delivered: Set[str]) -> bool:
    """A live trial of the sweep's own whose batch reached its reader (a batch `ask` is still
    writing, or never wrote, is not submitted: it may yet be discarded)."""
    batch = trial.pending.get("batch") if trial.pending else None
    return trial.live and not trial.foreign and (batch is None or batch in delivered)


def _named(
    study: SweepStudy, by_key: Mapping[str, TrialRecord], keys: Sequence[str], report: SubmitReport
) -> list[TrialRecord]:
    chosen: list[TrialRecord] = []
    for key in dict.fromkeys(keys):
        trial = by_key.get(key)
        if trial is None:
            raise StudyError(f"{key}: the study of sweep {study.name} holds no such live trial")
        if _unsubmitted(trial, report):
            chosen.append(trial)
    return chosen


def _unsubmitted(trial: TrialRecord, report: SubmitReport) -> bool:
    """Whether a trial needs a job: running, without one, and not claimed by a live process."""
    if trial.state != State.RUNNING or trial.job.id is not None:
        return False
    claim, since = trial.job.submitter, trial.job.submitted_at
    if claim is None or claim == submitter() or _gone(claim, since):
        return True
    report.skipped.append((trial.key, f"being submitted by {claim}"))
    return False


def claim_is_gone(trial: TrialRecord) -> bool:
    """Whether a trial's claim (if any) belongs to a process that can no longer create its job."""
    claim = trial.job.submitter
    return claim is not None and claim != submitter() and _gone(claim, trial.job.submitted_at)


def _gone(claim: str, since: int | None) -> bool:
    """Whether the process that claimed a trial can no longer be creating its job."""
    host, _, pid = claim.rpartition(":")
    started = datetime.fromtimestamp(since or 0, UTC)
    return owner_gone(host, int(pid) if pid.isdigit() else 0, started)


def _existing(
    study: SweepStudy, backend: Backend, claimed: Sequence[_Claimed]
) -> dict[str, JobObject]:
    """The jobs already on the service for the claimed trials that may have one, by key (one
    paged listing of the sweep's jobs, back to the oldest such trial)."""
    wanted = {c.trial.key: c for c in claimed if c.look_up}
    if not wanted:
        return {}
    since = min(earliest_job(c.trial) for c in wanted.values())
    found: dict[str, JobObject] = {}
    for job in backend.jobs(study.name, since):
        key = _key_of(backend, job, wanted)
        if (
            key is not None
            and key not in found
            and (job.created_at or 0) >= earliest_job(wanted[key].trial)
        ):
            found[key] = job
    return found


def _key_of(backend: Backend, job: JobObject, wanted: Mapping[str, _Claimed]) -> str | None:
    """The wanted trial `job` names: by its key, or (no metadata kept) by its suffix."""
    if backend.keeps_metadata:
        return job.key if job.key in wanted else None
    suffix = job.user_provided_suffix
    return next((k for k, c in wanted.items() if suffix and c.body.get("suffix") == suffix), None)


def earliest_job(trial: TrialRecord) -> int:
    """The earliest time (Unix seconds) a job of `trial` can say it was created: before the
    trial's start, its claim and its job's own `created_at` by no more than `SKEW`."""
    moments = [trial.job.submitted_at, trial.job.created_at]
    if trial.started is not None:
        moments.append(int(trial.started.timestamp()))
    known = [m for m in moments if m is not None]
    return (min(known) if known else int(time.time())) - SKEW


# -- creating ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    trial: TrialRecord
    job: JobObject | None = None
    found: bool = False
    refused: str | None = None


def _create_all(
    study: SweepStudy,
    backend: Backend,
    todo: Sequence[_Claimed],
    bodies: Mapping[int, dict[str, Any]],
    parallel: int,
    retry: Retry,
    report: SubmitReport,
    say: Callable[[str], None],
) -> None:
    """Create the jobs, `parallel` at a time; each outcome is stored as it comes in."""
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="submit") as pool:
        futures: set[Future[_Outcome]] = {
            pool.submit(_create_one, study.name, backend, c, bodies[c.trial.number], retry)
            for c in todo
        }
        try:
            while futures:
                done, futures = wait(futures, return_when=FIRST_COMPLETED)
                _record(study, [f.result() for f in done], report, say)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _create_one(
    sweep: str, backend: Backend, item: _Claimed, body: dict[str, Any], retry: Retry
) -> _Outcome:
    trial = TrialJob(item.trial.key, body.get("suffix"), earliest_job(item.trial))
    for attempt in retry.tries():
        try:
            return _Outcome(item.trial, backend.create(body))
        except Transient as error:
            # The answer may be lost, or the request still at work: wait, then look.
            retry.sleep(max(retry.waits(error, attempt), error.settle))
            found = retry.call(lambda: backend.find(sweep, trial))
            if found is not None:
                return _Outcome(item.trial, found, found=True)
        except RefusedError as error:
            return _Outcome(item.trial, refused=str(error))
    raise AssertionError("unreachable")  # pragma: no cover


def _record(
    study: SweepStudy,
    outcomes: Iterable[_Outcome],
    report: SubmitReport,
    say: Callable[[str], None],
) -> None:
    writes: list[Write] = []
    for outcome in outcomes:
        key = outcome.trial.key
        if outcome.job is not None:
            writes.append(RecordJob(outcome.trial.number, job_record(outcome.job)))
            (report.found if outcome.found else report.created).append(key)
            say(f"{key}: {'found' if outcome.found else 'created'} {outcome.job.id}")
        else:
            why = f"the service refused the job: {outcome.refused}"
            writes.append(RecordJob(outcome.trial.number, JobRecord(error=why)))
            writes.append(Finish(outcome.trial.number, State.FAIL))
            report.refused.append((key, str(outcome.refused)))
            say(f"{key}: {why}")
    with study.store.lock():  # only this process writes these trials' jobs: no reload
        study.store.apply(writes)

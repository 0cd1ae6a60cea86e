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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ftsweep._bulk import bulk
from ftsweep.errors import Problem, ResultsError
from ftsweep.progress import track
from ftsweep.study.store.attrs import CONFIG, config_attrs, job_attrs, job_id, job_info
from ftsweep.study.store.writes import TrialWrites
from ftsweep.study.sweep_study import DISCARDED, SUPERSEDES, SweepStudy, original_number

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial, TrialState

    from ftsweep.study.results import Result

__all__ = ["TellReport", "job_of", "tell", "unknown_row"]

#: What a result does to its trial: ("fail", None) or ("complete", values).
Outcome = tuple[str, list[float] | None]


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

    trial: FrozenTrial
    state: TrialState
    values: list[float] | None
    attrs: dict[str, Any]
    stored: dict[str, Any]  # the job info the study holds now
    changed: bool = False
    finished_now: bool = False
    replace: bool = False
    told: Result | None = None  # the row of this batch that gave the trial its outcome
    job_told: Result | None = None  # the row of this batch that gave the trial its job id


def tell(study: SweepStudy, results: Sequence[Result], *, force: bool = False) -> TellReport:
    """Feed results back; raises ResultsError, writing nothing, when any row conflicts or when
    no row names a trial of the sweep (results for another sweep, most likely)."""
    with study.location.lock(study.name):
        report = tell_locked(study, results, force=force)
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
def tell_locked(study: SweepStudy, results: Sequence[Result], *, force: bool) -> TellReport:
    """`tell`, for callers already holding the study's lock."""
    optuna_study = study.study()
    index = _Index(study, optuna_study.get_trials(deepcopy=False))
    index.learn_jobs(results)
    report, problems, views = TellReport(), list[tuple[str, Problem]](), dict[int, _View]()
    for result in track(results, len(results), "checking results"):
        trial = index.find(result)
        if trial is None:
            report.unknown.append(result)
            continue
        view = views.get(trial.number) or views.setdefault(trial.number, _view(trial))
        problem = index.other_job(result, trial) or _apply(study, view, result, force, report)
        if problem is not None:
            problems.append((result.source, problem))
    if problems:
        raise _refusal(problems)
    _write(study, optuna_study, views.values(), report)
    return report


def _refusal(problems: Sequence[tuple[str, Problem]]) -> ResultsError:
    """One error for the batch, each problem under the file of the row it is about."""
    by_file: dict[str, list[Problem]] = {}
    for source, problem in problems:
        by_file.setdefault(source, []).append(problem)
    return ResultsError.merge([ResultsError(file, found) for file, found in by_file.items()])


class _Index:
    """Finds the current trial a result names: by key, number or job id."""

    def __init__(self, study: SweepStudy, trials: Sequence[FrozenTrial]) -> None:
        self.study = study
        self.by_number = {t.number: t for t in trials if DISCARDED not in t.system_attrs}
        self.current = dict(self.by_number)
        for trial in trials:  # a replacement stands for the trial it supersedes
            if SUPERSEDES in trial.system_attrs and DISCARDED not in trial.system_attrs:
                self.current[int(trial.system_attrs[SUPERSEDES])] = trial
        jobs = ((job_id(t.user_attrs), t) for t in self.current.values())
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

    def other_job(self, result: Result, trial: FrozenTrial) -> Problem | None:
        """A problem when the result's job is another trial's than its key or number names."""
        job_id = result.job_id
        owner = None if job_id is None else self.by_job.get(job_id)
        if job_id is None or owner is None or owner.number == trial.number:
            return None
        taught = self.taught.get(job_id)
        said = f", as {taught.source}:{taught.row} says" if taught else ""
        owner_key = self.study.key(original_number(owner))
        named = f"{_COLUMNS[result.ref.kind]} {result.ref.value}"
        message = f"{job_id} (the job of {owner_key}{said}) and {named} name different trials"
        return Problem(("job_id",), message, line=result.row)

    def find(self, result: Result) -> FrozenTrial | None:
        ref = result.ref
        if ref.kind == "job_id":
            return self.by_job.get(str(ref.value))
        number = self.study.number_of(str(ref.value)) if ref.kind == "key" else int(ref.value)
        return self.current.get(number) if number is not None else None


def _view(trial: FrozenTrial) -> _View:
    values = list(trial.values) if trial.values is not None else None
    info = job_info(trial.user_attrs)
    return _View(trial, trial.state, values, info, dict(info))


def outcome_of(study: SweepStudy, result: Result) -> Outcome | None:
    """("fail", None), ("complete", values), or None when the result finishes nothing."""
    if result.status in ("failed", "cancelled"):
        return "fail", None
    metrics = dict(result.values)
    if result.trained_tokens is not None:
        metrics.setdefault("trained_tokens", float(result.trained_tokens))
    values = [metrics.get(o.metric) for o in study.sweep.objectives]
    if result.status == "succeeded" and all(v is not None for v in values):
        return "complete", [float(v) for v in values if v is not None]
    return None


def job_of(result: Result) -> dict[str, Any]:
    """What a result says of its trial's job, in `attrs.job_info`'s form."""
    attrs: dict[str, Any] = {
        "job_id": result.job_id,
        "job_status": result.job.status if result.job else result.status,
        "trained_tokens": result.trained_tokens,
        "error": result.error,
        "resolved": dict(result.resolved) or None,
    }
    if result.job is not None and result.job.fine_tuned_model:
        attrs["fine_tuned_model"] = result.job.fine_tuned_model
    return {k: v for k, v in attrs.items() if v is not None}


def _apply(
    study: SweepStudy, view: _View, result: Result, force: bool, report: TellReport
) -> Problem | None:
    from optuna.trial import TrialState

    outcome, attrs = outcome_of(study, result), job_of(result)
    problem = _told_twice(study, view, result, outcome, attrs)
    if problem is None and not force:
        problem = _held_job(study, view, result, attrs)
    if problem is not None:
        return problem
    if view.state.is_finished():
        if outcome is None or _same(view, outcome):
            _note_ignored(study, view, attrs, report)
            return None
        if not force:
            return _conflict(study, view, result, f"is already {_describe(study, view)}")
        view.replace = True
    state = TrialState.FAIL if outcome and outcome[0] == "fail" else view.state
    if outcome and outcome[0] == "complete":
        state = TrialState.COMPLETE
    new_attrs = {**view.attrs, **attrs}
    if new_attrs == view.attrs and state == view.state and not view.replace:
        return None
    view.finished_now = view.finished_now or (state.is_finished() and not view.state.is_finished())
    view.attrs, view.state, view.changed = new_attrs, state, True
    view.values = outcome[1] if outcome else view.values
    view.told = result if outcome else view.told
    view.job_told = view.job_told or (result if "job_id" in attrs else None)
    return None


def _told_twice(
    study: SweepStudy, view: _View, result: Result, outcome: Outcome | None, attrs: dict[str, Any]
) -> Problem | None:
    """Two rows of the batch that tell one trial different outcomes, or different jobs."""
    first, job = view.told, view.job_told
    if first is not None and outcome is not None and not _same(view, outcome):
        said = f"{_describe(study, view)} at {_at(first)}, "
        said += f"{_words(study, outcome)} at {_at(result)}"
        return _problem(study, view, result, f"told two results: {said}; keep the right one")
    if job is not None and attrs.get("job_id") not in (None, view.attrs["job_id"]):
        said = f"{view.attrs['job_id']} at {_at(job)}, {attrs['job_id']} at {_at(result)}"
        return _problem(study, view, result, f"told two jobs: {said}; a trial has one job")
    return None


def _held_job(
    study: SweepStudy, view: _View, result: Result, attrs: dict[str, Any]
) -> Problem | None:
    """A conflict when the study holds another job for the trial than the result names."""
    held, told = view.stored.get("job_id"), attrs.get("job_id")
    if held is None or told in (None, held):
        return None
    return _conflict(study, view, result, f"belongs to job {held}, not {told}")


def _at(result: Result) -> str:
    return f"{result.source}:{result.row}"


def _same(view: _View, outcome: Outcome) -> bool:
    from optuna.trial import TrialState

    kind, values = outcome
    if kind == "fail":
        return view.state == TrialState.FAIL
    return (
        view.state == TrialState.COMPLETE
        and view.values is not None
        and values is not None
        and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(view.values, values, strict=True))
    )


_STATE_WORDS = {"COMPLETE": "complete", "FAIL": "failed", "PRUNED": "pruned"}


def _describe(study: SweepStudy, view: _View) -> str:
    state = _STATE_WORDS.get(view.state.name, view.state.name.lower())
    return _with_values(study, state, view.values)


def _words(study: SweepStudy, outcome: Outcome) -> str:
    kind, values = outcome
    return _with_values(study, "failed" if kind == "fail" else "complete", values)


def _with_values(study: SweepStudy, state: str, values: list[float] | None) -> str:
    if values is None:
        return state
    shown = ", ".join(
        f"{o.metric}={v:g}" for o, v in zip(study.sweep.objectives, values, strict=True)
    )
    return f"{state} with {shown}"


def _conflict(study: SweepStudy, view: _View, result: Result, why: str) -> Problem:
    return _problem(study, view, result, f"{why}; tell --force to replace what the study holds")


def _problem(study: SweepStudy, view: _View, result: Result, message: str) -> Problem:
    return Problem((study.key(original_number(view.trial)),), message, line=result.row)


def _note_ignored(
    study: SweepStudy, view: _View, attrs: dict[str, Any], report: TellReport
) -> None:
    fresh = sorted(k for k in attrs if k not in view.attrs)
    if fresh and not view.changed:
        key = study.key(original_number(view.trial))
        report.notes.append(f"{key} had already finished: {', '.join(fresh)} not recorded")


def _write(study: SweepStudy, optuna_study: Any, views: Any, report: TellReport) -> None:
    from optuna.trial import TrialState

    writes = TrialWrites()
    for view in views:
        if not view.changed:
            report.unchanged += 1
            continue
        if view.replace:
            _supersede(study, optuna_study, view)
            report.superseded += 1
            continue
        trial_id = view.trial._trial_id
        if view.attrs != view.stored:
            writes.user_attrs(trial_id, _new_attrs(study, view))
        if view.finished_now:
            values = view.values if view.values else None
            writes.finish(trial_id, view.state, values, _completed(view))
            report.finished += 1
            report.failed += view.state == TrialState.FAIL
        else:
            report.updated += 1
    writes.commit(study.storage)


def _completed(view: _View) -> datetime | None:
    """When the trial's job finished, as the service said; None when it did not say, or said a
    time before the trial started (a clock that disagrees: the tell's own time is used)."""
    told = [r.job.finished_at for r in (view.told, view.job_told) if r is not None and r.job]
    finished_at = next((t for t in told if t), None)  # the outcome's row, or the job's
    if finished_at is None:
        return None
    moment = datetime.fromtimestamp(finished_at, tz=UTC)
    start = view.trial.datetime_start  # Optuna's: naive local time
    if start is not None and moment < start.astimezone(UTC):
        return None
    return moment


def _new_attrs(study: SweepStudy, view: _View) -> dict[str, Any]:
    """The job's attributes the trial does not hold yet; and, for a trial made before trials
    carried their configuration, that too."""
    held = view.trial.user_attrs
    new = {k: v for k, v in job_attrs(view.attrs).items() if k not in held or held[k] != v}
    if not any(name.startswith(CONFIG) for name in held):
        new.update(_config(study, view.trial))
    return new


def _config(study: SweepStudy, trial: FrozenTrial) -> dict[str, Any]:
    """The configuration attributes of a trial; none for one that is no configuration of the
    sweep (added by plain Optuna)."""
    params = study.encoding.configuration(trial)
    return config_attrs(params) if params is not None else {}


def _supersede(study: SweepStudy, optuna_study: Any, view: _View) -> None:
    from optuna.trial import TrialState, create_trial

    old = view.trial
    system = {k: v for k, v in old.system_attrs.items() if k != SUPERSEDES}
    template = create_trial(
        state=view.state,
        values=view.values if view.state == TrialState.COMPLETE else None,
        params=old.params,
        distributions=old.distributions,
        user_attrs={**_config(study, old), **job_attrs(view.attrs)},
        system_attrs={**system, SUPERSEDES: original_number(old)},
    )
    study.storage.create_new_trial(optuna_study._study_id, template_trial=template)

"""The user attributes a sweep's trials carry, flat and scalar, for Optuna's own tools to show.

Optuna's CLI, optuna-dashboard and `study.trials_dataframe()` show a trial's user attributes,
one column (or one sortable, filterable field) each, but not ftsweep's encoded parameters as the
configuration they stand for. So every trial carries, besides its parameters:

- `config.<dimension>`: the configuration, every dimension (fixed and zipped ones too), as
  requested; "auto" is the string "auto". Set when the trial is created.
- `job.id`, `job.status` (the service's own word), `job.trained_tokens`,
  `job.fine_tuned_model`, `job.error`, `job.created_at`, `job.finished_at` (Unix times),
  `job.submitter` and `job.submitted_at` (who set out to create it, when): the trial's job, set
  by `submit`, `sync`, `tell` and `import` (`JobRecord` in `ftsweep.study.records`);
  `job.estimated_tokens` and `job.estimated_cost`, what it was expected to train and cost, set
  when it is handed out; `job.actual_cost`, what it cost, set when its trained tokens are told.
- `resolved.<hyperparameter>`: the hyperparameters as the service resolved them.

A pruned trial's facts (`Pruned`: step, progress, value, what stopping it saved) are one
system attribute, `ftsweep:pruned`, written when the trial is judged hopeless and before its
job is cancelled: on a trial whose job finished before the cancel took, it is a decision that
came too late, which Optuna's tools had better not show as a fact of the trial.

An attribute is written only once known, so a tell writes one journal record per new fact.
Studies written before these attributes keep the job in one user attribute `ftsweep` holding a
dict; `job_record` reads both (the flat attributes win), so old studies read as new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftsweep.study.records import JobRecord, Pruned, Scalar

__all__ = [
    "CONFIG",
    "LEGACY_JOB",
    "PRUNED",
    "RESOLVED",
    "config_attrs",
    "has_config",
    "job_attrs",
    "job_record",
    "pruned_attr",
    "pruned_record",
]

CONFIG = "config."
RESOLVED = "resolved."
LEGACY_JOB = "ftsweep"  # the one nested attribute older studies hold a trial's job in
PRUNED = "ftsweep:pruned"  # a system attribute: `pruned_attr`

#: Each field of a JobRecord (but `resolved`), and the attribute that holds it.
_JOB = {
    "id": "job.id",
    "status": "job.status",
    "trained_tokens": "job.trained_tokens",
    "fine_tuned_model": "job.fine_tuned_model",
    "error": "job.error",
    "created_at": "job.created_at",
    "finished_at": "job.finished_at",
    "submitter": "job.submitter",
    "submitted_at": "job.submitted_at",
    "estimated_tokens": "job.estimated_tokens",
    "estimated_cost": "job.estimated_cost",
    "actual_cost": "job.actual_cost",
}
_FIELDS = {attr: name for name, attr in _JOB.items()}
_LEGACY = {"job_id": "id", "job_status": "status"}  # the nested dict's names that differ
_TYPES: dict[str, type] = {
    "trained_tokens": int,
    "created_at": int,
    "finished_at": int,
    "submitted_at": int,
    "estimated_tokens": int,
    "estimated_cost": float,
    "actual_cost": float,
}


def config_attrs(params: Mapping[str, Scalar]) -> dict[str, Scalar]:
    """The configuration's attributes: `config.<dimension>` for every dimension."""
    return {f"{CONFIG}{name}": value for name, value in params.items()}


def has_config(user_attrs: Mapping[str, Any]) -> bool:
    """Whether a trial's attributes hold its configuration (trials made before they did not)."""
    return any(name.startswith(CONFIG) for name in user_attrs)


def job_attrs(job: JobRecord) -> dict[str, Scalar]:
    """The attributes of what is known of a job; unknowns are left out."""
    out: dict[str, Scalar] = {}
    for name, attr in _JOB.items():
        value = getattr(job, name)
        if value is not None:
            out[attr] = value
    for name, value in job.resolved.items():
        out[f"{RESOLVED}{name}"] = value
    return out


def job_record(user_attrs: Mapping[str, Any]) -> JobRecord:
    """What a trial's attributes say of its job (the flat attributes win over a legacy dict)."""
    facts: dict[str, Any] = {}
    resolved: dict[str, Scalar] = {}
    legacy = user_attrs.get(LEGACY_JOB)
    if isinstance(legacy, Mapping):
        for name, value in legacy.items():
            name = _LEGACY.get(name, name)
            if name == "resolved" and isinstance(value, Mapping):
                resolved.update(value)
            elif name in _JOB:
                facts[name] = value
    for attr, value in user_attrs.items():
        if attr in _FIELDS:
            facts[_FIELDS[attr]] = value
        elif attr.startswith(RESOLVED):
            resolved[attr[len(RESOLVED) :]] = value
    typed = {name: _typed(name, value) for name, value in facts.items() if value is not None}
    return JobRecord(**typed, resolved=resolved)


def _typed(name: str, value: Any) -> Any:
    kind = _TYPES.get(name, str)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value if isinstance(value, kind) and not isinstance(value, bool) else str(value)


def pruned_attr(pruned: Pruned) -> dict[str, Scalar]:
    """The `ftsweep:pruned` attribute of a pruning: its facts by name, unknowns left out."""
    facts = {name: getattr(pruned, name) for name in Pruned.__slots__}
    return {name: value for name, value in facts.items() if value is not None}


def pruned_record(value: Any) -> Pruned | None:
    """The pruning an `ftsweep:pruned` attribute holds; None when it holds none (or is not
    one: an attribute someone else wrote is not taken for a decision to stop a job)."""
    if not isinstance(value, Mapping):
        return None
    step, progress = _count(value.get("step")), _count(value.get("progress"))
    found = _number(value.get("value"))
    if step is None or progress is None or found is None:
        return None
    saved = _count(value.get("saved_tokens")), _number(value.get("saved_cost"))
    return Pruned(step, progress, found, *saved)


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return int(value) if ok else None


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None

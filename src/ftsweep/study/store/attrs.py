"""The user attributes a sweep's trials carry, flat and scalar, for Optuna's own tools to show.

Optuna's CLI, optuna-dashboard and `study.trials_dataframe()` show a trial's user attributes,
one column (or one sortable, filterable field) each, but not ftsweep's encoded parameters as the
configuration they stand for. So every trial carries, besides its parameters:

- `config.<dimension>`: the configuration, every dimension (fixed and zipped ones too), as
  requested; "auto" is the string "auto". Set when the trial is created.
- `job.id`, `job.status` (the service's own word), `job.trained_tokens`,
  `job.fine_tuned_model`, `job.error`: the trial's job, set by `tell` and `import`.
- `resolved.<hyperparameter>`: the hyperparameters as the service resolved them.

An attribute is written only once known, so a tell writes one journal record per new fact.
Studies written before these attributes keep the job in one user attribute `ftsweep` holding a
dict; `job_info` reads both (the flat attributes win), so old studies read as new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONFIG",
    "LEGACY_JOB",
    "RESOLVED",
    "Scalar",
    "config_attrs",
    "job_attrs",
    "job_id",
    "job_info",
]

Scalar = str | int | float | bool

CONFIG = "config."
RESOLVED = "resolved."
LEGACY_JOB = "ftsweep"  # the one nested attribute older studies hold a trial's job in

#: ftsweep's name of each fact about a job, and the attribute that holds it.
_JOB = {
    "job_id": "job.id",
    "job_status": "job.status",
    "trained_tokens": "job.trained_tokens",
    "fine_tuned_model": "job.fine_tuned_model",
    "error": "job.error",
}
_JOB_FIELDS = {attr: name for name, attr in _JOB.items()}


def config_attrs(params: Mapping[str, Scalar]) -> dict[str, Scalar]:
    """The configuration's attributes: `config.<dimension>` for every dimension."""
    return {f"{CONFIG}{name}": value for name, value in params.items()}


def job_attrs(info: Mapping[str, Any]) -> dict[str, Scalar]:
    """The attributes of what is known of a job (`job_info`'s form); unknowns are left out."""
    out: dict[str, Scalar] = {
        _JOB[name]: value for name, value in info.items() if name in _JOB and value is not None
    }
    for name, value in (info.get("resolved") or {}).items():
        if value is not None:
            out[f"{RESOLVED}{name}"] = value
    return out


def job_id(user_attrs: Mapping[str, Any]) -> str | None:
    """The id of a trial's job, when known (`job_info(...).get("job_id")`, faster)."""
    found = user_attrs.get("job.id")
    if found is None and isinstance(user_attrs.get(LEGACY_JOB), Mapping):
        found = user_attrs[LEGACY_JOB].get("job_id")
    return None if found is None else str(found)


def job_info(user_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What is known of a trial's job: `job_id`, `job_status`, `trained_tokens`,
    `fine_tuned_model`, `error` and `resolved` (a dict), each only when known."""
    legacy = user_attrs.get(LEGACY_JOB)
    info: dict[str, Any] = dict(legacy) if isinstance(legacy, Mapping) else {}
    resolved: dict[str, Any] = dict(info.get("resolved") or {})
    for attr, value in user_attrs.items():
        if attr in _JOB_FIELDS:
            info[_JOB_FIELDS[attr]] = value
        elif attr.startswith(RESOLVED):
            resolved[attr[len(RESOLVED) :]] = value
    info.pop("resolved", None)
    if resolved:
        info["resolved"] = resolved
    return info

"""The trials of a sweep as plain records and as a pandas DataFrame, in one documented shape.

Columns, in this order (hyperparameters and metrics follow the sweep):

- `number`: the Optuna trial number (a replacement's own, after `tell --force`); `key`: the
  trial's stable key, as in its job's metadata (a replacement keeps the key it stands for)
- `state`: running, complete, fail, ...; `origin`: ask or import
- one column per dimension, the value requested (`n_epochs`, `beta`, `model`, ...)
- one `resolved_<name>` column per hyperparameter of the method, as the service resolved it
- `job_id`, `job_status`, `fine_tuned_model`
- one column per objective metric (`full_valid_loss`, ...), then `trained_tokens`
- `estimated_cost`, `actual_cost` (empty until cost estimation is configured), `error`
- `started`, `completed` (UTC timestamps)

Trials that are not part of the sweep (discarded proposals, batches never written) and trials a
forced result replaced are left out. A sweep without trials gives an empty frame with the same
columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ftsweep._bulk import bulk
from ftsweep.api.hyperparameters import RULES
from ftsweep.study.study import (
    DISCARDED,
    ORIGIN,
    SUPERSEDES,
    SweepStudy,
    job_info,
    original_number,
)

if TYPE_CHECKING:
    import pandas as pd
    from optuna.trial import FrozenTrial

__all__ = ["columns", "trial_records", "trials_frame"]

_JOB = ["job_id", "job_status", "fine_tuned_model"]
_TAIL = ["trained_tokens", "estimated_cost", "actual_cost", "error", "started", "completed"]


def columns(study: SweepStudy) -> list[str]:
    """The frame's columns for this sweep, in order."""
    sweep = study.sweep
    resolved = [f"resolved_{n}" for n, r in RULES.items() if sweep.method in r.methods]
    metrics = [o.metric for o in sweep.objectives if o.metric != "trained_tokens"]
    return [
        "number",
        "key",
        "state",
        "origin",
        *sweep.space.names,
        *resolved,
        *_JOB,
        *metrics,
        *_TAIL,
    ]


def current_trials(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that make up the sweep: each original trial, or its latest replacement."""
    current: dict[int, FrozenTrial] = {}
    for trial in trials:
        if DISCARDED in trial.system_attrs:
            continue
        number = original_number(trial)
        if number not in current or trial.number > current[number].number:
            current[number] = trial
    return sorted(current.values(), key=original_number)


@bulk
def trial_records(study: SweepStudy) -> list[dict[str, Any]]:
    """One plain dict per trial, keyed by `columns(study)`."""
    names = columns(study)
    return [_record(study, trial, names) for trial in current_trials(study.trials())]


def _record(study: SweepStudy, trial: FrozenTrial, names: list[str]) -> dict[str, Any]:
    attrs = job_info(trial)
    record: dict[str, Any] = dict.fromkeys(names)
    record.update(
        number=trial.number,
        key=study.key(original_number(trial)),
        state=trial.state.name.lower(),
        origin=trial.system_attrs.get(ORIGIN, "ask"),
        started=_utc(trial.datetime_start),
        completed=_utc(trial.datetime_complete),
    )
    record.update(study.params(trial))
    for name, value in (attrs.get("resolved") or {}).items():
        if f"resolved_{name}" in record:
            record[f"resolved_{name}"] = value
    for name in (*_JOB, "trained_tokens", "error"):
        record[name] = attrs.get(name)
    if trial.values is not None:
        for objective, value in zip(study.sweep.objectives, trial.values, strict=True):
            record[objective.metric] = value
    if SUPERSEDES in trial.system_attrs:
        record["origin"] = f"{record['origin']} (replaced)"
    return record


def _utc(moment: datetime | None) -> datetime | None:
    """Optuna's trial times are naive local times; the frame's are UTC."""
    return moment.astimezone(UTC) if moment is not None else None


def trials_frame(study: SweepStudy) -> pd.DataFrame:
    """The sweep's trials as a DataFrame with the documented columns (empty but shaped when
    there are none)."""
    import pandas as pd

    names = columns(study)
    frame = pd.DataFrame.from_records(trial_records(study), columns=names)
    frame["number"] = frame["number"].astype("int64")
    frame["trained_tokens"] = frame["trained_tokens"].astype("Int64")
    for name in ("estimated_cost", "actual_cost"):
        frame[name] = frame[name].astype("float64")
    for name in ("started", "completed"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame

"""The trials of a sweep as plain records and as a pandas DataFrame, in one documented shape.

Columns, in this order (hyperparameters and metrics follow the sweep):

- `number`: the Optuna trial number (a replacement's own, after `tell --force`); `key`: the
  trial's stable key, as in its job's metadata (a replacement keeps the key it stands for)
- `state`: running, complete, fail, ...; `origin`: ask or import
- one column per dimension, the value requested (`n_epochs`, `beta`, `model`, ...); a dimension
  that mixes "auto" with numbers is followed by `<name>_auto` (True where "auto" was requested).
  In the DataFrame and in Parquet such a dimension is numeric, empty where "auto" was requested;
  in the records (tables), CSV and JSON it holds the text "auto" there.
- one `resolved_<name>` column per hyperparameter of the method, as the service resolved it
- `job_id`, `job_status`, `fine_tuned_model`
- one column per objective metric (`full_valid_loss`, ...), then `trained_tokens`
- `estimated_cost` (what the trial was expected to cost when it was handed out) and
  `actual_cost` (from the job's `trained_tokens` at the price table's price), both empty where
  no price applies (`ftsweep.data.cost`); `error`
- `started`, `completed` (UTC timestamps)

Columns are typed from the sweep, whether or not a trial has a value: integers are nullable
`Int64`, floats `float64`, flags `boolean`, times UTC datetimes, text `object`.

Trials that are not part of the sweep (discarded proposals, batches never written) and trials a
forced result replaced are left out; so are trials that plain Optuna added and that stand for
no configuration of the sweep: the records' `not_shown` holds their numbers. A sweep without
trials gives an empty frame with the same columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ftsweep._bulk import bulk
from ftsweep.api.hyperparameters import AUTO, RULES
from ftsweep.study.records import JobRecord, TrialRecord, current
from ftsweep.sweep.dimensions import Categorical, Dimension, IntRange

if TYPE_CHECKING:
    import pandas as pd

    from ftsweep.data.cost import Costing
    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params, Space

__all__ = [
    "Records",
    "columns",
    "dtypes",
    "not_shown_note",
    "records_of",
    "sweep_trials",
    "trial_records",
    "trials_frame",
]

_JOB = ["job_id", "job_status", "fine_tuned_model"]
_TAIL = ["trained_tokens", "estimated_cost", "actual_cost", "error", "started", "completed"]
_KINDS = {"int": "Int64", "float": "float64", "enum": "object"}


class Records(list[dict[str, Any]]):
    """The trials' records, in order; `not_shown` numbers the trials left out because they
    stand for no configuration of the sweep (plain Optuna added them)."""

    def __init__(self, records: Iterable[dict[str, Any]], not_shown: Sequence[int] = ()) -> None:
        super().__init__(records)
        self.not_shown = list(not_shown)


def not_shown_note(numbers: Sequence[int]) -> str | None:
    """The note that some trials are not shown, or None when all are."""
    if not numbers:
        return None
    listed = ", ".join(map(str, numbers))
    if len(numbers) == 1:
        return f"1 trial was not made by ftsweep and is not shown: {listed}"
    return f"{len(numbers)} trials were not made by ftsweep and are not shown: {listed}"


def dtypes(study: SweepStudy | Sweep) -> dict[str, str]:
    """The frame's columns for this sweep, in order, each with its pandas dtype."""
    sweep = _sweep(study)
    resolved = {
        f"resolved_{n}": _KINDS[r.kind] for n, r in RULES.items() if sweep.method in r.methods
    }
    metrics = [o.metric for o in sweep.objectives if o.metric != "trained_tokens"]
    out = {"number": "int64", "key": "object", "state": "object", "origin": "object"}
    for name in sweep.space.names:
        out[name], auto = _dimension_dtype(sweep.space, name)
        if auto:
            out[f"{name}_auto"] = "boolean"
    out.update(resolved)
    out.update(dict.fromkeys(_JOB, "object"))
    out.update(dict.fromkeys(metrics, "float64"))
    out.update(trained_tokens="Int64", estimated_cost="float64", actual_cost="float64")
    out.update(error="object", started="datetime64[ns, UTC]", completed="datetime64[ns, UTC]")
    return out


def _sweep(study: SweepStudy | Sweep) -> Sweep:
    from ftsweep.sweep.load import Sweep

    return study if isinstance(study, Sweep) else study.sweep


def columns(study: SweepStudy | Sweep) -> list[str]:
    """The frame's columns for this sweep, in order."""
    return list(dtypes(study))


def _dimension_dtype(space: Space, name: str) -> tuple[str, bool]:
    """A dimension's dtype, and whether it mixes "auto" with numbers (then it has an `_auto`
    column and the dtype is that of its numbers)."""
    kinds: set[str] = set()
    for sub in space.subspaces:
        if name in sub.dimensions:
            kinds |= _kinds(sub.dimensions[name])
    numbers = kinds & {"int", "float"}
    if not numbers or kinds - {"int", "float", "auto"}:
        return "object", False
    return ("Int64" if numbers == {"int"} else "float64"), "auto" in kinds


def _kinds(dim: Dimension) -> set[str]:
    if not isinstance(dim, Categorical):
        number = "int" if isinstance(dim, IntRange) else "float"
        return {number, "auto"} if dim.auto else {number}
    return {_kind(value) for value in dim.values}


def _kind(value: object) -> str:
    if value == AUTO:
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "text"
    return "int" if isinstance(value, int) else "float"


def sweep_trials(
    trials: Sequence[TrialRecord],
) -> tuple[list[tuple[TrialRecord, Params]], list[int]]:
    """The sweep's current trials (`records.current`) with their configurations, and the
    numbers of the trials that stand for no configuration of the sweep (plain Optuna added
    them)."""
    found: list[tuple[TrialRecord, Params]] = []
    foreign: list[int] = []
    for trial in current(list(trials)):
        if trial.params is None:
            foreign.append(trial.number)
        else:
            found.append((trial, trial.params))
    return found, foreign


def trial_records(study: SweepStudy) -> Records:
    """One plain dict per trial of the study, keyed by `columns(study)`; its costs priced by
    the study's costing."""
    return records_of(study.sweep, study.trials(), study.costing)


@bulk
def records_of(
    sweep: Sweep, trials: Sequence[TrialRecord], costing: Costing | None = None
) -> Records:
    """One plain dict per current trial among `trials`, keyed by `columns(sweep)`:
    `estimated_cost` as stored when the trial was handed out, `actual_cost` priced by
    `costing` from the job's trained tokens (empty without it)."""
    names = columns(sweep)
    found, foreign = sweep_trials(trials)
    return Records((_record(sweep, t, p, names, costing) for t, p in found), foreign)


def _record(
    sweep: Sweep,
    trial: TrialRecord,
    params: Params,
    names: list[str],
    costing: Costing | None = None,
) -> dict[str, Any]:
    job = trial.job
    record: dict[str, Any] = dict.fromkeys(names)
    record.update(
        number=trial.number,
        key=trial.key,
        state=trial.state.value,
        origin=trial.origin,
        started=trial.started,
        completed=trial.completed,
        job_id=job.id,
        job_status=job.status,
        fine_tuned_model=job.fine_tuned_model,
        trained_tokens=job.trained_tokens,
        estimated_cost=job.estimated_cost,
        actual_cost=_actual(costing, params, job),
        error=job.error,
    )
    for name, value in params.items():
        record[name] = value
        if f"{name}_auto" in record:
            record[f"{name}_auto"] = value == AUTO
    for name, value in job.resolved.items():
        if f"resolved_{name}" in record:
            record[f"resolved_{name}"] = value
    if trial.values is not None:
        for objective, value in zip(sweep.objectives, trial.values, strict=True):
            record[objective.metric] = value
    if trial.supersedes is not None:
        record["origin"] = f"{record['origin']} (replaced)"
    return record


def _actual(costing: Costing | None, params: Params, job: JobRecord) -> float | None:
    """The cost stored when the job's trained tokens were told, else priced now."""
    if job.actual_cost is not None:
        return job.actual_cost
    return costing.actual(params, job) if costing is not None else None


def trials_frame(
    study: SweepStudy, records: Sequence[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """The sweep's trials (or `records` of them) as a DataFrame with the documented columns and
    dtypes (empty but shaped and typed when there are none)."""
    import pandas as pd

    types = dtypes(study)
    rows = trial_records(study) if records is None else records
    frame = pd.DataFrame.from_records(rows, columns=list(types))
    for name, dtype in types.items():
        frame[name] = _typed(frame[name], dtype, f"{name}_auto" in types)
    return frame


def _typed(column: pd.Series, dtype: str, auto: bool) -> pd.Series:
    import pandas as pd

    if dtype.startswith("datetime"):
        return pd.to_datetime(column, utc=True)
    if auto:  # "auto" is the `_auto` column's: the number is missing there
        column = column.astype(object).where(column != AUTO, None)
    if dtype == "object":
        return column.astype(object).where(column.notna(), None)
    try:
        return column.astype(pd.api.types.pandas_dtype(dtype))
    except (TypeError, ValueError):  # a service that resolved to text: kept as it came
        return column

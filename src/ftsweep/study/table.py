"""The trials of a sweep as a table, without pandas: its columns, each of one kind, and one plain
row per trial, in one documented shape. The DataFrame (`ftsweep.study.frame`) and the CSV and
JSON writers (`ftsweep.study.export`) are both made of it.

Columns, in this order (hyperparameters and metrics follow the sweep):

- `number`: the Optuna trial number (a replacement's own, after `tell --force`); `key`: the
  trial's stable key, as in its job's metadata (a replacement keeps the key it stands for)
- `state`: running, complete, fail, ...; `origin`: ask or import
- one column per dimension, the value requested (`n_epochs`, `beta`, `model`, ...); a dimension
  that mixes "auto" with numbers is followed by `<name>_auto` (True where "auto" was requested).
  In the DataFrame and in Parquet such a dimension is numeric, empty where "auto" was requested;
  in the rows (tables), CSV and JSON it holds the text "auto" there.
- one `resolved_<name>` column per hyperparameter of the method, as the service resolved it
- `job_id`, `job_status`, `fine_tuned_model`
- one column per objective metric (`full_valid_loss`, ...), then `trained_tokens`
- `estimated_cost` (what the trial was expected to cost when it was handed out) and
  `actual_cost` (its job's `trained_tokens` at the price table's price), both empty where no
  price applies (`ftsweep.data.cost`)
- with `prune:` in the sweep, `pruned_step` and `pruned_value` (where a pruned trial's job
  was stopped: its step, and the prune metric there), `saved_tokens` and `saved_cost` (what
  the rest of the job would have trained and cost, estimated); empty but on pruned trials
- `error`
- `started`, `completed` (UTC timestamps)

Each column has a kind, from the sweep, whether or not a trial has a value: `int` (`number`, never
empty, and nullable integers), `float`, `flag` (the `_auto` columns), `text` or `time` (aware UTC
datetimes). `typed` gives a column's values as its kind makes them, the one rule the DataFrame and
the writers share: NaN is a missing value; an `int` column whose numbers are not all whole is a
`float` one; a number column holding text (a service that resolved a hyperparameter to "auto")
keeps its values as they came; a text column holding numbers only, some floats or missing, holds
floats (as pandas, which typed them before this module, makes such a column).

Trials that are not part of the sweep (discarded proposals, batches never written) and trials a
forced result replaced are left out; so are trials that plain Optuna added and that stand for
no configuration of the sweep: the rows' `not_shown` holds their numbers. A sweep without
trials gives a table with the same columns and no rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ftsweep._bulk import bulk
from ftsweep.api.hyperparameters import AUTO, RULES
from ftsweep.study.records import JobRecord, State, TrialRecord, current
from ftsweep.sweep.dimensions import Categorical, Dimension, IntRange

if TYPE_CHECKING:
    from ftsweep.data.cost import Costing
    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params, Space

__all__ = [
    "PRUNE_COLUMNS",
    "Column",
    "Kind",
    "Records",
    "not_shown_note",
    "records_of",
    "sweep_trials",
    "table_columns",
    "trial_records",
    "typed",
]

Kind = Literal["int", "float", "flag", "text", "time"]

_JOB = ["job_id", "job_status", "fine_tuned_model"]
_COSTS: tuple[tuple[str, Kind], ...] = (
    ("trained_tokens", "int"),
    ("estimated_cost", "float"),
    ("actual_cost", "float"),
)
_LAST: tuple[tuple[str, Kind], ...] = (
    ("error", "text"),
    ("started", "time"),
    ("completed", "time"),
)
#: The columns of a sweep with `prune:`: where a pruned trial stopped, what that saved.
PRUNE_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("pruned_step", "int"),
    ("pruned_value", "float"),
    ("saved_tokens", "int"),
    ("saved_cost", "float"),
)
_RULE_KINDS: dict[str, Kind] = {"int": "int", "float": "float", "enum": "text"}


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name and kind; `required`: every row holds a value (`number`); `auto`: a
    dimension that mixes "auto" with numbers (its `<name>_auto` flag column follows it)."""

    name: str
    kind: Kind
    auto: bool = False
    required: bool = False


def table_columns(sweep: Sweep) -> list[Column]:
    """The table's columns for this sweep, in order."""
    out: dict[str, Column] = {}  # a later column of a name takes the earlier one's place

    def add(name: str, kind: Kind, auto: bool = False, required: bool = False) -> None:
        out[name] = Column(name, kind, auto, required)

    add("number", "int", required=True)
    for name in ("key", "state", "origin"):
        add(name, "text")
    for name in sweep.space.names:
        kind, auto = _dimension_kind(sweep.space, name)
        add(name, kind, auto)
        if auto:
            add(f"{name}_auto", "flag")
    for name, rule in RULES.items():
        if sweep.method in rule.methods:
            add(f"resolved_{name}", _RULE_KINDS[rule.kind])
    for name, kind in _job_and_after(sweep):
        add(name, kind)
    return list(out.values())


def _job_and_after(sweep: Sweep) -> list[tuple[str, Kind]]:
    """The columns from the job's on: the job, the objective metrics, costs, pruning's (with
    `prune:`), error and times."""
    metrics = [o.metric for o in sweep.objectives if o.metric != "trained_tokens"]
    pruning = PRUNE_COLUMNS if sweep.spec.prune is not None else ()
    job: list[tuple[str, Kind]] = [(name, "text") for name in _JOB]
    return [*job, *((m, "float") for m in metrics), *_COSTS, *pruning, *_LAST]


def _dimension_kind(space: Space, name: str) -> tuple[Kind, bool]:
    """A dimension's kind, and whether it mixes "auto" with numbers (then it has an `_auto`
    column and the kind is that of its numbers)."""
    kinds: set[str] = set()
    for sub in space.subspaces:
        if name in sub.dimensions:
            kinds |= _kinds(sub.dimensions[name])
    numbers = kinds & {"int", "float"}
    if not numbers or kinds - {"int", "float", "auto"}:
        return "text", False
    return ("int" if numbers == {"int"} else "float"), "auto" in kinds


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


def typed(column: Column, values: Sequence[Any]) -> tuple[list[Any], Kind | None]:
    """The column's values as its kind makes them (see the module docstring), and the kind they
    are of: the column's, `float` for an `int` column whose numbers are not all whole, None for
    values kept as they came. A dimension's "auto" is None here (its `_auto` flag says it)."""
    if column.auto:
        found = [None if v != v or v == AUTO else v for v in values]  # v != v: NaN
    else:
        found = [None if v != v else v for v in values]
    if column.kind == "int":
        return _integers(found)
    if column.kind == "float":
        return _floats(found)
    if column.kind == "text" and _float_column(found):
        return [None if v is None else float(v) for v in found], column.kind
    return found, column.kind


def _integers(values: list[Any]) -> tuple[list[Any], Kind | None]:
    numbers = [v for v in values if v is not None]
    if not all(map(_number, numbers)):
        return values, None
    if all(_whole(v) for v in numbers):
        return [None if v is None else int(v) for v in values], "int"
    return _floats(values)


def _whole(number: float) -> bool:
    """Whether a number is an integer a 64-bit column holds (as pandas' `Int64` does)."""
    return (isinstance(number, int) or number.is_integer()) and -(2**63) <= number < 2**63


def _floats(values: list[Any]) -> tuple[list[Any], Kind | None]:
    if not all(_number(v) for v in values if v is not None):
        return values, None
    return [None if v is None else float(v) for v in values], "float"


def _float_column(values: list[Any]) -> bool:
    """Whether a text column holds numbers only, some of them floats or missing: pandas makes it
    a float column, so its integers are written as floats (`1.0`), as they always were."""
    numbers = [v for v in values if v is not None]
    if not numbers or not all(map(_number, numbers)):
        return False
    return len(numbers) < len(values) or any(isinstance(v, float) for v in numbers)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- the rows ------------------------------------------------------------------------------


class Records(list[dict[str, Any]]):
    """The trials' rows, in order; `not_shown` numbers the trials left out because they stand for
    no configuration of the sweep (plain Optuna added them)."""

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
    """One plain dict per trial of the study, keyed by the names of `table_columns`; its jobs'
    actual costs priced by the study's costing where not stored."""
    return records_of(study.sweep, study.trials(), study.costing)


@bulk
def records_of(
    sweep: Sweep, trials: Sequence[TrialRecord], costing: Costing | None = None
) -> Records:
    """One plain dict per current trial among `trials`, keyed by the names of `table_columns`:
    `estimated_cost` as stored when the trial was handed out, `actual_cost` as stored when its
    trained tokens were told, else priced by `costing` (empty without one)."""
    names = [c.name for c in table_columns(sweep)]
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
    if trial.pruned is not None and trial.state == State.PRUNED and "pruned_step" in record:
        where = trial.pruned  # on a trial still running, or whose job ended first: no fact
        record.update(
            pruned_step=where.step,
            pruned_value=where.value,
            saved_tokens=where.saved_tokens,
            saved_cost=where.saved_cost,
        )
    return record


def _actual(costing: Costing | None, params: Params, job: JobRecord) -> float | None:
    """The cost stored when the job's trained tokens were told, else priced now."""
    if job.actual_cost is not None:
        return job.actual_cost
    return costing.actual(params, job) if costing is not None else None

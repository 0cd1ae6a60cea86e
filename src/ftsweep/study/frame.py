"""The trials table (`ftsweep.study.table`) as a pandas DataFrame, in the table's shape.

Its columns are the table's, in order, typed from the sweep whether or not a trial has a value:
integers are nullable `Int64` (`number` is `int64`), floats `float64`, flags `boolean`, times UTC
datetimes, text `object`. A dimension that mixes "auto" with numbers is numeric, empty where its
`<name>_auto` column is True. A column the table keeps as it came (a service that resolved a
number to text) is typed by pandas from its values. A sweep without trials gives an empty frame
with the same columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ftsweep.study.table import (
    Column,
    Kind,
    Records,
    not_shown_note,
    records_of,
    sweep_trials,
    table_columns,
    trial_records,
    typed,
)

if TYPE_CHECKING:
    import pandas as pd

    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.load import Sweep

__all__ = [
    "Records",
    "columns",
    "dtypes",
    "frame_of",
    "not_shown_note",
    "records_of",
    "sweep_trials",
    "trial_records",
    "trials_frame",
]

_DTYPES: dict[Kind, str] = {
    "int": "Int64",
    "float": "float64",
    "flag": "boolean",
    "text": "object",
    "time": "datetime64[ns, UTC]",
}


def dtypes(study: SweepStudy | Sweep) -> dict[str, str]:
    """The frame's columns for this sweep, in order, each with its pandas dtype."""
    return {c.name: _dtype(c) for c in table_columns(_sweep(study))}


def _dtype(column: Column) -> str:
    return "int64" if column.required else _DTYPES[column.kind]


def _sweep(study: SweepStudy | Sweep) -> Sweep:
    from ftsweep.sweep.load import Sweep

    return study if isinstance(study, Sweep) else study.sweep


def columns(study: SweepStudy | Sweep) -> list[str]:
    """The frame's columns for this sweep, in order."""
    return [c.name for c in table_columns(_sweep(study))]


def trials_frame(
    study: SweepStudy, records: Sequence[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """The sweep's trials (or `records` of them) as a DataFrame with the documented columns and
    dtypes (empty but shaped and typed when there are none)."""
    return frame_of(study.sweep, trial_records(study) if records is None else records)


def frame_of(sweep: Sweep, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The DataFrame of a sweep's trial records (`records_of`)."""
    import pandas as pd

    data = {c.name: _series(c, [r[c.name] for r in records]) for c in table_columns(sweep)}
    return pd.DataFrame(data, columns=list(data))


def _series(column: Column, values: list[Any]) -> pd.Series:
    import pandas as pd

    found, kind = typed(column, values)
    if kind == "time":
        return pd.to_datetime(pd.Series(found, dtype=object), utc=True)
    if kind is None:  # kept as it came: typed by pandas, as its values are
        return pd.Series(found)
    return pd.Series(found, dtype="int64" if column.required else _DTYPES[kind])

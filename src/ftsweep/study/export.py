"""Write the trials as CSV, JSON (records) or Parquet, losing nothing.

`write_trials` writes a sweep's trial records (`ftsweep.study.table`): CSV and JSON straight from
them, without pandas, Parquet through their DataFrame. `write_frame` writes a DataFrame
(`ftsweep.study.frame`); of the same trials it writes the same bytes as `write_trials`.

- JSON floats are written in their shortest exact form, so they read back as the same floats
  (the `beta` of a row is the `beta` of the body that was sent); times are ISO 8601 in UTC.
- A dimension that mixes "auto" with numbers is numeric in the frame, empty where its
  `<name>_auto` column is True: Parquet keeps it so (numbers stay numbers), CSV and JSON write
  "auto" there, as the sweep file says it.
- Parquet keeps every column's type, in an empty frame too (text columns are strings there).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from ftsweep.api.hyperparameters import AUTO
from ftsweep.errors import OutputError
from ftsweep.study.table import Column, table_columns, typed

if TYPE_CHECKING:
    import pandas as pd

    from ftsweep.sweep.load import Sweep

__all__ = ["write_frame", "write_trials"]

_AUTO = "_auto"
_JSON = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE


def write_trials(
    sweep: Sweep, records: Sequence[Mapping[str, Any]], format: str, stream: BinaryIO
) -> None:
    """Write a sweep's trial records (`ftsweep.study.table.records_of`) to a binary stream in
    `format` (csv, json or parquet)."""
    if format == "parquet":
        from ftsweep.study.frame import frame_of

        write_frame(frame_of(sweep, records), format, stream)
        return
    writer = _WRITERS.get(format)
    if writer is None:
        raise OutputError(f"unknown format {format!r}")
    columns = table_columns(sweep)
    cells = [_cells(c, [r[c.name] for r in records], format) for c in columns]
    stream.write(writer([c.name for c in columns], cells))


def _cells(column: Column, values: list[Any], format: str) -> list[Any]:
    """A column's values as `format` writes them: typed, "auto" where it was asked for, times as
    text."""
    found, kind = typed(column, values)
    if kind == "time":
        found = _csv_times(found) if format == "csv" else [_json_time(v) for v in found]
    if column.auto:
        found = ["auto" if v == AUTO else f for v, f in zip(values, found, strict=True)]
    return found


def _csv_times(moments: list[datetime | None]) -> list[str | None]:
    """Times as pandas writes a column of them: the fraction of a second only as fine as the
    finest time of the column needs (none, milliseconds or microseconds)."""
    fractions = {m.microsecond for m in moments if m is not None}
    spec = "microseconds" if any(f % 1000 for f in fractions) else "milliseconds"
    spec = spec if any(fractions) else "seconds"
    return [None if m is None else m.astimezone(UTC).isoformat(" ", spec) for m in moments]


def _json_time(moment: datetime | None) -> str | None:
    """A time as ISO 8601 in UTC, to the microsecond."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _csv(names: list[str], cells: list[list[Any]]) -> bytes:
    """CSV as pandas' `to_csv` writes it (Python's csv module, LF line ends; floats in their
    shortest form, empty cells for missing values)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*cells, strict=True))
    return text.getvalue().encode()


def _json(names: list[str], cells: list[list[Any]]) -> bytes:
    rows = [dict(zip(names, row, strict=True)) for row in zip(*cells, strict=True)]
    return orjson.dumps(rows, option=_JSON)


_WRITERS: dict[str, Callable[[list[str], list[list[Any]]], bytes]] = {"csv": _csv, "json": _json}


def write_frame(frame: pd.DataFrame, format: str, stream: BinaryIO) -> None:
    """Write `frame` to a binary stream in `format` (csv, json or parquet)."""
    if format == "csv":
        # LF on every platform, as `plan -f csv` writes (pandas' default is os.linesep).
        text = _auto_as_text(frame).to_csv(index=False, lineterminator="\n")
        stream.write(text.encode())
    elif format == "json":
        stream.write(_frame_json(_auto_as_text(frame)))
    elif format == "parquet":
        _parquet(frame, stream)
    else:
        raise OutputError(f"unknown format {format!r}")


def _auto_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with "auto" written into each dimension where its `_auto` column says so."""
    frame = frame.copy()
    for flag in [c for c in frame.columns if c.endswith(_AUTO) and frame[c].dtype == "boolean"]:
        name = flag[: -len(_AUTO)]
        if name in frame.columns:
            column = frame[name].astype(object).where(frame[name].notna(), None)
            frame[name] = column.where(~frame[flag].fillna(False), "auto")
    return frame


def _frame_json(frame: pd.DataFrame) -> bytes:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    option = _JSON | orjson.OPT_SERIALIZE_NUMPY
    return orjson.dumps(records, default=_moment, option=option)


def _moment(value: Any) -> str:
    """A timestamp as ISO 8601 in UTC, to the microsecond (orjson leaves pandas' own to us)."""
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return str(value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _parquet(frame: pd.DataFrame, stream: BinaryIO) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise OutputError("parquet needs pyarrow: pip install 'ftsweep[parquet]'") from None
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype != object:
            continue
        if frame[name].isna().all():  # no value to infer a type from: text, as its values are
            frame[name] = frame[name].astype("string")
        elif _mixed(frame[name]):
            # A service that resolved a number to text: one type per Parquet column, so text.
            frame[name] = frame[name].map(lambda v: None if v is None else str(v))
    frame.to_parquet(stream, index=False)


def _mixed(column: pd.Series) -> bool:
    kinds = {type(v) for v in column if v is not None}
    return len(kinds) > 1 or (bool(kinds) and dict not in kinds and str not in kinds)

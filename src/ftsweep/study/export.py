"""Write a trials DataFrame as CSV, JSON (records) or Parquet, losing nothing.

- JSON floats are written in their shortest exact form, so they read back as the same floats
  (the `beta` of a row is the `beta` of the body that was sent); times are ISO 8601 in UTC.
- A dimension that mixes "auto" with numbers is numeric in the frame, empty where its
  `<name>_auto` column is True: Parquet keeps it so (numbers stay numbers), CSV and JSON write
  "auto" there, as the sweep file says it.
- Parquet keeps every column's type, in an empty frame too (text columns are strings there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from ftsweep.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_frame"]

_AUTO = "_auto"


def write_frame(frame: pd.DataFrame, format: str, stream: BinaryIO) -> None:
    """Write `frame` to a binary stream in `format` (csv, json or parquet)."""
    if format == "csv":
        # LF on every platform, as `plan -f csv` writes (pandas' default is os.linesep).
        text = _auto_as_text(frame).to_csv(index=False, lineterminator="\n")
        stream.write(text.encode())
    elif format == "json":
        stream.write(_json(_auto_as_text(frame)))
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


def _json(frame: pd.DataFrame) -> bytes:
    import orjson

    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
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

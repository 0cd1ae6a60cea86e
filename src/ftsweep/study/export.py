"""Write a trials DataFrame as CSV, JSON (records) or Parquet."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from ftsweep.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_frame"]


def write_frame(frame: pd.DataFrame, format: str, stream: BinaryIO) -> None:
    """Write `frame` to a binary stream in `format` (csv, json or parquet)."""
    if format == "csv":
        # LF on every platform, as `plan -f csv` writes (pandas' default is os.linesep).
        stream.write(frame.to_csv(index=False, lineterminator="\n").encode())
    elif format == "json":
        text = frame.to_json(orient="records", date_format="iso", date_unit="us", indent=1)
        stream.write((text or "[]").encode() + b"\n")
    elif format == "parquet":
        _parquet(frame, stream)
    else:
        raise OutputError(f"unknown format {format!r}")


def _parquet(frame: pd.DataFrame, stream: BinaryIO) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise OutputError("parquet needs pyarrow: pip install 'ftsweep[parquet]'") from None
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype == object and _mixed(frame[name]):
            # "auto" beside numbers: Parquet columns have one type, so store their text.
            frame[name] = frame[name].map(lambda v: None if v is None else str(v))
    frame.to_parquet(stream, index=False)


def _mixed(column: pd.Series) -> bool:
    kinds = {type(v) for v in column if v is not None}
    return len(kinds) > 1 or (bool(kinds) and dict not in kinds and str not in kinds)

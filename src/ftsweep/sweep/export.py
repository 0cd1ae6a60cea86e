"""Write a plan as JSONL (one job body per line), JSON (an array of bodies) or CSV (one row per
trial with its hyperparameters), streaming, so a million-trial plan needs no more memory than one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO, Literal

import orjson

from ftsweep.sweep.planning import Plan

__all__ = ["FORMATS", "Columns", "ExportFormat", "write_plan"]

ExportFormat = Literal["jsonl", "json", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("jsonl", "json", "csv")


class Columns:
    """More CSV columns after the dimensions: their names, and a function giving each trial's
    values (`ftsweep.data.cost` adds `trained_tokens` and `estimated_cost` this way)."""

    def __init__(
        self, names: Sequence[str], values: Callable[[Mapping[str, object]], Sequence[object]]
    ) -> None:
        self.names = list(names)
        self.values = values


def write_plan(
    plan: Plan, format: ExportFormat, stream: BinaryIO, extra: Columns | None = None
) -> int:
    """Write every trial of `plan` to a binary stream; returns the number of trials written.
    JSONL and JSON are job bodies, ready to send: `extra` columns go into CSV only."""
    if format == "csv":
        return _csv(plan, stream, extra)
    writer: Callable[[Plan, BinaryIO], int] = {"jsonl": _jsonl, "json": _json}[format]
    return writer(plan, stream)


def _jsonl(plan: Plan, stream: BinaryIO) -> int:
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    write, body = stream.write, plan.renderer.body
    count = 0
    for count, (index, params) in enumerate(plan.items(), start=1):  # noqa: B007
        write(dumps(body(index, params), option=option))
    return count


def _json(plan: Plan, stream: BinaryIO) -> int:
    count = 0
    stream.write(b"[")
    for count, body in enumerate(plan.bodies(), start=1):  # noqa: B007
        stream.write(b"\n" if count == 1 else b",\n")
        stream.write(orjson.dumps(body))
    stream.write(b"\n]\n" if count else b"]\n")
    return count


def csv_columns(plan: Plan) -> list[str]:
    """trial, key, then every dimension in the order the space first names it."""
    return ["trial", "key", *plan.sweep.space.names]


def _csv(plan: Plan, stream: BinaryIO, extra: Columns | None) -> int:
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
    dimensions = plan.sweep.space.names
    writer = csv.writer(text, lineterminator="\n")  # csv's default is \r\n; trials' CSV is LF too
    writer.writerow([*csv_columns(plan), *(extra.names if extra else ())])
    count = 0
    for count, trial in enumerate(plan, start=1):  # noqa: B007
        more = extra.values(trial.params) if extra else ()
        writer.writerow(
            [trial.index, trial.key, *(trial.params.get(c, "") for c in dimensions), *more]
        )
    text.detach()
    return count

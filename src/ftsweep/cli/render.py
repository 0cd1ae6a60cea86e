"""Rich tables for the terminal."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ftsweep.io import atomic_output
from ftsweep.sweep.dimensions import template_text
from ftsweep.sweep.planning import Plan

__all__ = ["importance_table", "plan_table", "records_table"]


def _caption(plan: Plan, total: int | None) -> str:
    sweep = plan.sweep
    shown = f"{len(plan):,} of {total:,}" if total is not None else f"the first {len(plan):,}"
    text = f"{shown} trials · {sweep.strategy}, seed {sweep.spec.seed}"
    if plan.adaptive:
        text += f" · {sweep.strategy} learns from results: later trials depend on them"
    return text


def plan_table(plan: Plan, *, total: int | None, output: Path | None) -> None:
    """Print (or write to `output`) one row per trial with its hyperparameters."""
    names = plan.sweep.space.names
    table = Table(title=f"{plan.sweep.name} ({plan.sweep.method})", caption=_caption(plan, total))
    table.add_column("trial", justify="right")
    for name in names:
        if name == "model":
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, justify="right")
    for trial in plan:
        cells = [template_text(trial.params[n]) if n in trial.params else "-" for n in names]
        table.add_row(str(trial.index), *cells)
    _emit(table, output)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return format(value, ".6g")
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[no-any-return]
    return str(value)


def _emit(table: Table, output: Path | None) -> None:
    if output is None:
        Console().print(table)
        return
    console = Console(record=True, width=250, file=io.StringIO())
    console.print(table)
    with atomic_output(output) as stream:
        stream.write(console.export_text().encode())


def records_table(
    records: list[dict[str, Any]], columns: list[str], title: str, output: Path | None
) -> None:
    """One row per record; columns that are empty in every record are left out."""
    shown = [c for c in columns if any(_cell(r.get(c)) for r in records)] or columns[:4]
    table = Table(title=title, caption=f"{len(records):,} trial(s)")
    for name in shown:
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(*(_cell(record.get(c)) for c in shown))
    _emit(table, output)


def importance_table(found: dict[str, dict[str, float]], title: str) -> None:
    """Parameter importances, one column per objective."""
    table = Table(title=f"{title}: parameter importances")
    table.add_column("parameter")
    metrics = list(found)
    for metric in metrics:
        table.add_column(metric, justify="right")
    names = list(dict.fromkeys(n for values in found.values() for n in values))
    for name in names:
        table.add_row(name, *(f"{found[m].get(name, 0.0):.3f}" for m in metrics))
    Console().print(table)

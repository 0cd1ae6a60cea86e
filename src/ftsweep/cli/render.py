"""Rich tables for the terminal."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ftsweep.io import atomic_output
from ftsweep.sweep.dimensions import template_text
from ftsweep.sweep.plan import Plan

__all__ = ["plan_table"]


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
    if output is None:
        Console().print(table)
        return
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(table)
    with atomic_output(output) as stream:
        stream.write(console.export_text().encode())

"""Rich tables for the terminal, fitted to its width; the trials table as plain text elsewhere.

On a terminal (or with COLUMNS set) a table too wide for it is shortened, in this order: long
names get the short headers of `SHORT`, explained in a legend under the table; floats keep four
significant digits; text is cut with an ellipsis (never below ten characters nor its header);
columns that still do not fit are dropped from the right, with a note naming them. A cell is
never wrapped, so a row stays one line and no number or word is split. Output that is not a
terminal (a pipe, a file) and `--wide` get every column, uncut, at full precision.

The trials table (`trials_table`), which may have thousands of rows, is drawn by rich on a
terminal only; into a pipe or a file it is plain text, the same columns and cells aligned in
columns two spaces apart, without rich (which takes seconds to lay out 5,000 rows).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftsweep.io import atomic_output
from ftsweep.sweep.dimensions import template_text

if TYPE_CHECKING:
    from rich.table import Table

    from ftsweep.data.planned import PlanCosts, PlannedCost
    from ftsweep.sweep.planning import Plan

__all__ = [
    "SHORT",
    "Column",
    "fit",
    "importance_table",
    "on_terminal",
    "plan_table",
    "records_table",
    "trials_table",
]

#: Short headers for long, well-known column names.
SHORT = {
    "learning_rate_multiplier": "lr_mult",
    "batch_size": "batch",
    "n_epochs": "epochs",
    "reasoning_effort": "effort",
    "compute_multiplier": "compute",
    "eval_interval": "eval_every",
    "eval_samples": "eval_n",
    "full_valid_loss": "fv_loss",
    "full_valid_mean_token_accuracy": "fv_accuracy",
    "valid_mean_token_accuracy": "v_accuracy",
    "train_mean_token_accuracy": "t_accuracy",
    "full_valid_mean_reward": "fv_reward",
    "full_valid_mean_parse_error": "fv_parse_err",
    "valid_reward_mean": "v_reward",
    "train_mean_reward": "t_reward",
    "trained_tokens": "tokens",
    "fine_tuned_model": "ft_model",
    "job_status": "job",
    "estimated_cost": "est_cost",
    "actual_cost": "cost",
    "pruned_step": "pr_step",
    "pruned_value": "pr_value",
    "saved_tokens": "saved_tok",
    "saved_cost": "saved",
}
_TEXT_FLOOR = 10  # text is cut to no fewer characters than this (ellipsis included)
_WIDE_HINT = "--wide shows all"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its full name, its cells in full and compact (fewer digits) form."""

    name: str
    cells: Sequence[str]
    compact: Sequence[str]
    numeric: bool  # right-aligned and never cut

    def header(self, short: bool) -> str:
        return SHORT.get(self.name, self.name) if short else self.name

    def need(self, short: bool) -> int:
        """The width that shows the header and every cell whole."""
        cells = self.compact if short else self.cells
        return max([len(self.header(short)), *map(len, cells)])

    def floor(self) -> int:
        """The narrowest the column may be cut to."""
        need, header = self.need(True), len(self.header(True))
        return need if self.numeric else min(need, max(header, _TEXT_FLOOR))


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns a table shows, their widths (None: natural) and what was left out."""

    columns: list[Column]
    widths: list[int] | None
    short: bool
    dropped: list[str]


def table_width(widths: Sequence[int]) -> int:
    """A rich table's width for these column widths: each has a space either side and a rule."""
    return sum(widths) + 3 * len(widths) + 1


def fit(columns: list[Column], width: int | None) -> Layout:
    """The layout of `columns` in `width` characters (None: unlimited, everything in full)."""
    if width is None or table_width([c.need(False) for c in columns]) <= width:
        return Layout(columns, None, False, [])
    shown = list(columns)
    while True:
        widths = _squeeze(shown, width - table_width([0] * len(shown)))
        if widths is not None or len(shown) == 1:
            dropped = [c.name for c in columns[len(shown) :]]
            return Layout(shown, widths or [c.floor() for c in shown], True, dropped)
        shown.pop()


def _squeeze(columns: list[Column], room: int) -> list[int] | None:
    """Widths within `room`, cutting the widest text columns first; None when none fit."""
    need = [c.need(True) for c in columns]
    floor = [c.floor() for c in columns]
    for cap in range(max(need), -1, -1):
        widths = [max(low, min(n, cap)) for n, low in zip(need, floor, strict=True)]
        if sum(widths) <= room:
            return widths
    return None


def _table(title: str, caption: str | None, layout: Layout) -> Table:
    from rich.table import Table

    table = Table(title=title, caption=caption)
    widths: Sequence[int | None] = layout.widths or [None] * len(layout.columns)
    for column, width in zip(layout.columns, widths, strict=True):
        table.add_column(
            column.header(layout.short),
            justify="right" if column.numeric else "left",
            no_wrap=True,
            overflow="ellipsis",
            width=width,
        )
    cells = [c.compact if layout.short else c.cells for c in layout.columns]
    for row in zip(*cells, strict=True):
        table.add_row(*row)
    return table


def _notes(layout: Layout, hint: str | None, width: int) -> list[str]:
    short = [c for c in layout.columns if layout.short and c.header(True) != c.name]
    notes = _pack([f"{c.header(True)} = {c.name}" for c in short], width)
    if layout.dropped:
        count = len(layout.dropped)
        text = f"{count} column{'s' if count > 1 else ''} not shown: {', '.join(layout.dropped)}"
        notes.append(f"{text}; {hint}" if hint else text)
    return notes


def _pack(items: list[str], width: int) -> list[str]:
    """Lines of comma-separated items, breaking between items, never inside one."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 2 <= width:
            lines[-1] += f", {item}"
        else:
            lines.append(item)
    return lines


def _show(
    title: str,
    caption: str | None,
    columns: list[Column],
    *,
    output: Path | None,
    wide: bool,
    hint: str | None = _WIDE_HINT,
    notes: Sequence[str] = (),
) -> None:
    """Print the table fitted to the terminal, or in full when asked, piped or to a file; then
    its notes."""
    from rich.console import Console

    console = Console()
    fitted = output is None and not wide and (console.is_terminal or "COLUMNS" in os.environ)
    layout = fit(columns, console.width if fitted else None)
    table = _table(title, caption, layout)
    if not fitted:  # as wide as it takes: rich would otherwise fit 80 columns
        width = max(table_width([c.need(False) for c in columns]), len(title))
        console = Console(width=width, record=output is not None, file=_sink(output))
    console.print(table)
    for note in [*_notes(layout, hint, console.width), *notes]:
        console.print(note, markup=False, highlight=False)
    if output is not None:
        with atomic_output(output) as stream:
            stream.write(console.export_text().encode())


def _sink(output: Path | None) -> io.StringIO | None:
    return io.StringIO() if output is not None else None


def _compact(value: object) -> str:
    return format(value, ".4g") if isinstance(value, float) else _cell(value)


def _numeric(values: Sequence[object]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v)


def _caption(plan: Plan, total: int | None) -> str:
    sweep = plan.sweep
    shown = f"{len(plan):,} of {total:,}" if total is not None else f"the first {len(plan):,}"
    text = f"{shown} trials · {sweep.strategy}, seed {sweep.spec.seed}"
    if plan.adaptive:
        start = min(len(plan.opening), len(plan))
        if start == len(plan):
            text += " · its start: what ask hands out first on a new study"
        elif start:
            text += (
                f" · the first {start} are its start on a new study; {sweep.strategy} chooses"
                " the others at ask time: these are random examples"
            )
        else:
            text += f" · {sweep.strategy} chooses values at ask time: these are random examples"
    return text


def plan_table(
    plan: Plan,
    *,
    total: int | None,
    output: Path | None,
    wide: bool = False,
    costs: PlanCosts | None = None,
    totals: str | None = None,
) -> None:
    """Print (or write to `output`) one row per trial with its hyperparameters, and with its
    estimated trained tokens and cost when `costs` prices them (`totals` under the table)."""
    trials = list(plan)
    numbers = [str(t.index) for t in trials]
    columns = [Column("trial", numbers, numbers, numeric=True)]
    for name in plan.sweep.space.names:
        values = [t.params.get(name) for t in trials]
        full = [template_text(v) if v is not None else "-" for v in values]
        short = [_compact(v) if v is not None else "-" for v in values]
        columns.append(Column(name, full, short, _numeric([v for v in values if v != "auto"])))
    if costs is not None:
        columns += _cost_columns([costs.next(t.params) for t in trials], costs.budget)
    title = f"{plan.sweep.name} ({plan.sweep.method})"
    caption = _caption(plan, total) + (f"\n{totals}" if totals else "")
    _show(title, caption, columns, output=output, wide=wide)


def _cost_columns(planned: list[PlannedCost], budget: bool) -> list[Column]:
    tokens = [p.trained_tokens for p in planned]
    costs = [p.cost for p in planned]
    columns = [
        Column("trained_tokens", [_cell(v) for v in tokens], [_compact(v) for v in tokens], True),
        Column("estimated_cost", [_money(v) for v in costs], [_money(v) for v in costs], True),
    ]
    if budget:
        marks = ["over" if p.over_budget else "" for p in planned]
        columns.append(Column("budget", marks, marks, numeric=False))
    return columns


def _money(value: float | None) -> str:
    from ftsweep.data.cost import money

    return "" if value is None else money(value)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return format(value, ".6g")
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[no-any-return]
    return str(value)


def _record_column(records: list[dict[str, Any]], name: str) -> Column:
    if name == "key":  # `<sweep>-<number>`: the number is enough under the sweep's title
        numbers = [str(int(r["key"].rpartition("-")[2])) for r in records]
        return Column("trial", numbers, numbers, numeric=True)
    values = [r.get(name) for r in records]
    full, short = [_cell(v) for v in values], [_compact(v) for v in values]
    return Column(name, full, short, _numeric([v for v in values if v != "auto"]))


def records_table(
    records: list[dict[str, Any]],
    columns: list[str],
    title: str,
    output: Path | None,
    *,
    wide: bool = False,
) -> None:
    """One row per record; columns that are empty in every record are left out."""
    table = _record_columns(records, columns)
    _show(title, f"{len(records):,} trial(s)", table, output=output, wide=wide)


def _record_columns(records: list[dict[str, Any]], columns: list[str]) -> list[Column]:
    shown = [c for c in columns if any(_cell(r.get(c)) for r in records)] or columns[:4]
    return [_record_column(records, name) for name in shown]


def on_terminal() -> bool:
    """Whether standard output is a terminal (or COLUMNS says how wide one is)."""
    return sys.stdout.isatty() or "COLUMNS" in os.environ


def trials_table(
    records: list[dict[str, Any]],
    columns: list[str],
    title: str,
    output: Path | None,
    *,
    wide: bool = False,
    left_out: int = 0,
) -> None:
    """`records_table` on a terminal; plain text into a pipe or to `output` (see the module
    docstring). `left_out`: how many earlier trials are not among `records`, which a note says
    with the way to see them."""
    table = _record_columns(records, columns)
    caption = f"{len(records):,} trial(s)"
    notes = []
    if left_out:
        caption = f"the last {len(records):,} of {len(records) + left_out:,} trials"
        notes.append(f"{left_out:,} earlier trial(s) not shown; --all shows all (or -f csv)")
    if output is None and on_terminal():
        _show(title, caption, table, output=None, wide=wide, notes=notes)
    else:
        _plain(title, caption, table, output, notes)


def _plain(
    title: str, caption: str, columns: list[Column], output: Path | None, notes: list[str]
) -> None:
    """The table as lines of text: the title, the header, one line per row, the caption and
    the notes; cells in full, numbers aligned right, text left."""
    widths = [c.need(False) for c in columns]
    cells = [[c.name, *c.cells] for c in columns]
    lines = [title]
    for row in zip(*cells, strict=True):
        line = "  ".join(
            cell.rjust(width) if column.numeric else cell.ljust(width)
            for column, width, cell in zip(columns, widths, row, strict=True)
        )
        lines.append(line.rstrip())
    text = "\n".join([*lines, caption, *notes, ""])
    if output is None:
        sys.stdout.write(text)
        return
    with atomic_output(output) as stream:
        stream.write(text.encode())


def importance_table(found: dict[str, dict[str, float]], title: str) -> None:
    """Parameter importances, one column per objective."""
    names = list(dict.fromkeys(n for values in found.values() for n in values))
    columns = [Column("parameter", names, names, numeric=False)]
    for metric, values in found.items():
        cells = [f"{values.get(name, 0.0):.3f}" for name in names]
        columns.append(Column(metric, cells, cells, numeric=True))
    _show(f"{title}: parameter importances", None, columns, output=None, wide=False, hint=None)

"""What the sweep-file commands do, between parsing their arguments and exiting."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ftsweep.errors import OutputError, SweepFileError
from ftsweep.io import atomic_output
from ftsweep.sweep.load import load_sweep

__all__ = ["show_plan", "validate_files", "write_starter"]

TABLE_ROWS = 50  # rows `plan` shows in a table when no --limit is given


def write_starter(path: Path, method: str, *, force: bool) -> None:
    from ftsweep.sweep.starters import starter, starter_name

    if path.exists() and not force:
        raise OutputError(f"{path} already exists (use --force to overwrite it)")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise OutputError(f"{path}: starter sweeps are YAML; name the file *.yaml")
    with atomic_output(path) as stream:
        stream.write(starter(method, starter_name(path.stem), str(path)).encode())


def validate_files(paths: list[Path], *, verbose: bool) -> int:
    """Check each file; print problems on stderr. Returns how many files failed."""
    failed = 0
    for path in paths:
        try:
            sweep = load_sweep(path)
        except SweepFileError as exc:
            typer.echo(str(exc), err=True)
            failed += 1
            continue
        if verbose:
            size = sweep.space.size
            points = f"{size:,} configurations" if size is not None else "a continuous space"
            typer.echo(f"{path}: ok ({sweep.method}, {sweep.strategy} over {points})")
    return failed


def show_plan(
    path: Path, *, limit: int | None, format: str, output: Path | None, wide: bool = False
) -> None:
    from ftsweep.sweep.export import write_plan
    from ftsweep.sweep.planning import plan

    sweep = load_sweep(path)
    if format == "table":
        from ftsweep.cli.render import plan_table

        shown = plan(sweep, limit if limit is not None else TABLE_ROWS)
        total = sweep.plan_size  # the whole plan's size (None: endless), not the --limit
        plan_table(shown, total=total, output=output, wide=wide)
        return
    trials = plan(sweep, limit)
    if output is None:
        write_plan(trials, format, sys.stdout.buffer)  # type: ignore[arg-type]
        return
    with atomic_output(output) as stream:
        count = write_plan(trials, format, stream)  # type: ignore[arg-type]
    typer.echo(f"wrote {count:,} trials to {output}", err=True)

"""`ftsweep check`: a sweep's data files against everything that would fail or waste a job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ftsweep.api.names import METHODS, MethodName
from ftsweep.cli.app import Command, app, reports_errors

__all__ = ["check"]


@app.command(cls=Command)
@reports_errors
def check(
    path: Annotated[
        Path | None, typer.Argument(metavar="SWEEP", help="The sweep file whose data to check.")
    ] = None,
    training: Annotated[
        Path | None,
        typer.Option("--training", metavar="FILE", help="Check this training file instead."),
    ] = None,
    validation: Annotated[
        Path | None,
        typer.Option("--validation", metavar="FILE", help="Check this validation file instead."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", metavar="FILE", help="Without a sweep: the file to check."),
    ] = None,
    method: Annotated[
        MethodName | None,
        typer.Option("--method", metavar="METHOD", help=f"With --data: {', '.join(METHODS)}."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", metavar="MODEL", help="With --data: whose tokenizer counts."),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", metavar="NAME", help="Count with this encoding (o200k_base)."),
    ] = None,
) -> None:
    """Check a sweep's data files before money is spent.

    Every problem at once, as file:line: field: rule. Row formats of the method, the
    fields the grader reads, examples over the context, duplicates, row counts; then rows,
    tokens and what n_epochs auto resolves to. Exit 2 on any error.
    """
    from ftsweep.cli.check_actions import check_command

    check_command(
        path,
        training=training,
        validation=validation,
        data=data,
        method=method,
        model=model,
        tokenizer=tokenizer,
    )

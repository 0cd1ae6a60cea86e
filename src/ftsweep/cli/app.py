"""The `ftsweep` command line: each command parses, calls one library function, renders.

Heavy modules (pydantic models, optuna, pandas) are imported inside the commands that need them,
so `ftsweep --help` starts fast.
"""

from __future__ import annotations

import enum
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from ftsweep.errors import FtsweepError

__all__ = ["app", "main"]

app = typer.Typer(
    name="ftsweep",
    help="Plan, run and learn from hyperparameter sweeps of fine-tuning jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn ftsweep's errors, stdout's included, into a message on stderr and an exit code.

    A closed stdout pipe (`ftsweep plan ... | head`) ends the command quietly with exit code 1.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from ftsweep.io import reported_stdout

        try:
            with reported_stdout():
                return command(*args, **kwargs)
        except FtsweepError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            raise typer.Exit(1) from None

    return wrapper


class Method(enum.StrEnum):
    supervised = "supervised"
    dpo = "dpo"
    reinforcement = "reinforcement"


class PlanFormat(enum.StrEnum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"


@app.command()
@reports_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the sweep file (.yaml).")],
    method: Annotated[Method, typer.Option("--method", "-m", help="Fine-tuning method.")] = (
        Method.supervised
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter sweep file for a method."""
    from ftsweep.cli.commands import write_starter

    write_starter(path, method.value, force=force)
    typer.echo(f"wrote {path}: edit it, then run `ftsweep validate {path}`", err=True)


@app.command()
@reports_errors
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Sweep files to check.")],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say what each valid file sweeps.")
    ] = False,
) -> None:
    """Check sweep files: print every problem, or nothing when they are valid."""
    from ftsweep.cli.commands import validate_files

    failed = validate_files(paths, verbose=verbose)
    if failed:
        raise typer.Exit(2)


@app.command()
@reports_errors
def plan(
    path: Annotated[Path, typer.Argument(help="The sweep file.")],
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=0, help="Plan at most this many trials.")
    ] = None,
    format: Annotated[
        PlanFormat,
        typer.Option("--format", "-f", help="table, jsonl (one job body per line), json or csv."),
    ] = PlanFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (atomically).")
    ] = None,
) -> None:
    """Show the trials a sweep would run, or write their job requests; touches no state."""
    from ftsweep.cli.commands import show_plan

    show_plan(path, limit=limit, format=format.value, output=output)


def main() -> None:
    """Entry point of the `ftsweep` console script."""
    # Pydantic looks for plugins by scanning every installed package's entry points the first
    # time it builds a model: a tenth of `ftsweep validate`'s start-up. The CLI uses none, so
    # it skips the scan unless the user set the variable (typer does the same for its own
    # models). Library use is unaffected.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    try:
        app(prog_name="ftsweep")
    finally:
        _silence_broken_stdout()


def _silence_broken_stdout() -> None:
    """Point a stdout that cannot be written (closed pipe, full disk) at /dev/null.

    The command has reported it; this spares the interpreter's flush at exit a second failure,
    which it would print as "Exception ignored ..." (the recipe in Python's `signal` docs).
    """
    try:
        sys.stdout.flush()
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())

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
from typer import _click as click  # typer 0.29 vendors click; pinned <0.30 in pyproject
from typer.core import TyperCommand

from ftsweep.api.names import METHODS, MethodName
from ftsweep.errors import FtsweepError

__all__ = ["app", "main"]

app = typer.Typer(
    name="ftsweep",
    help="Plan, run and learn from hyperparameter sweeps of fine-tuning jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: typer 0.29's rich panels print a `<bool>` type beside every flag (its
    # TyperOption.display_type_rich, unlike get_help_record, does not skip flags), so users
    # typed `--force true`, and they fold a long choice list mid-word. Click's formatter does
    # neither.
    rich_markup_mode=None,
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


class Command(TyperCommand):
    """Help that names arguments by their metavar (`SWEEP`, `FILE...`), as Unix usage lines do,
    instead of typer's `{path}` in the usage line and `<list[Path]>` beside the argument."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        arguments = [_metavar(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return [self.options_metavar or "", *arguments]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        params = self.get_params(ctx)
        arguments = [
            (_metavar(p), getattr(p, "help", None) or "")
            for p in params
            if p.param_type_name == "argument"
        ]
        options = [r for p in params if p.param_type_name == "option" and (r := _record(p, ctx))]
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _metavar(argument: click.Parameter) -> str:
    name = argument.metavar or argument.name or "ARG"
    name += "..." if argument.nargs != 1 and not name.endswith("...") else ""
    return name if argument.required else f"[{name}]"


def _record(option: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    return option.get_help_record(ctx)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ftsweep {version('ftsweep')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Plan, run and learn from hyperparameter sweeps of fine-tuning jobs."""


class PlanFormat(enum.StrEnum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"


SweepPath = Annotated[Path, typer.Argument(metavar="SWEEP", help="The sweep file.")]
Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write to this file (atomically)."),
]
Wide = Annotated[
    bool,
    typer.Option("--wide", help="Tables: every column, uncut, however wide the terminal is."),
]
Prices = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        metavar="FILE",
        help="Price table (a `prices:` mapping) over the sweep file's own; default: the file "
        "FTSWEEP_PRICES names.",
    ),
]


@app.command(cls=Command)
@reports_errors
def init(
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="Where to write the sweep file (.yaml).")
    ],
    method: Annotated[
        MethodName,
        typer.Option(
            "--method",
            "-m",
            metavar="METHOD",
            help=f"Fine-tuning method: {', '.join(METHODS[:-1])} or {METHODS[-1]}.",
        ),
    ] = "supervised",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter sweep file for a method."""
    from ftsweep.cli.commands import write_starter

    write_starter(path, method, force=force)
    typer.echo(
        f"wrote {path}: replace its REPLACE-ME placeholders, then run `ftsweep validate {path}`",
        err=True,
    )


@app.command(cls=Command)
@reports_errors
def validate(
    paths: Annotated[list[Path], typer.Argument(metavar="SWEEP...", help="Sweep files to check.")],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say what each valid file sweeps.")
    ] = False,
) -> None:
    """Check sweep files and print every problem they have.

    Valid files print nothing, or a line each with --verbose.
    """
    from ftsweep.cli.commands import validate_files

    failed = validate_files(paths, verbose=verbose)
    if failed:
        raise typer.Exit(2)


@app.command(cls=Command)
@reports_errors
def plan(
    path: SweepPath,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", metavar="COUNT", min=0, help="Plan at most this many trials."
        ),
    ] = None,
    format: Annotated[
        PlanFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table, jsonl (one job body per line), json or csv.",
        ),
    ] = PlanFormat.table,
    output: Output = None,
    wide: Wide = False,
    prices: Prices = None,
) -> None:
    """Show the trials a sweep would run, or write their job bodies.

    With local training data, also what each trial would train and cost, the totals, and the
    trials past the sweep's budget. Touches no state: nothing is asked, written or sent.
    """
    from ftsweep.cli.commands import show_plan

    show_plan(path, limit=limit, format=format.value, output=output, wide=wide, prices=prices)


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

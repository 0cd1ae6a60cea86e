"""The commands of the loop over a sweep's study: ask, tell, import, trials, best, importance."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from ftsweep.cli.app import Command, Output, Prices, SweepPath, Wide, app, reports_errors

__all__ = ["ask", "best", "import_", "importance", "tell", "trials"]

Storage = Annotated[
    str | None,
    typer.Option(
        "--storage",
        metavar="STORAGE",
        envvar="FTSWEEP_STORAGE",
        show_envvar=True,
        help="Journal file or database URL (default: .ftsweep/journal.log beside the sweep).",
    ),
]
#: The trials a table on a terminal shows without --limit or --all (the last ones).
TABLE_TRIALS = 200

Force = Annotated[
    bool, typer.Option("--force", help="Replace results the study already holds for a trial.")
]


class TrialsFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command(cls=Command)
@reports_errors
def ask(
    path: SweepPath,
    n: Annotated[
        int,
        typer.Option(
            "-n", "--count", metavar="COUNT", min=1, max=1_000_000, help="How many trials."
        ),
    ] = 1,
    output: Output = None,
    storage: Storage = None,
    prices: Prices = None,
) -> None:
    """Hand out the next COUNT trials and write their job requests.

    JSONL, one job body per line, to stdout or the --output file. Each trial's estimated
    cost is recorded; a trial that would take the sweep over its budget is not handed out.
    """
    from ftsweep.cli.loop_actions import ask_command

    ask_command(path, n, output=output, storage=storage, prices=prices)


@app.command(cls=Command)
@reports_errors
def tell(
    path: SweepPath,
    results: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...", help="CSV/JSONL rows, job objects (JSON/JSONL), step CSVs."
        ),
    ],
    trial: Annotated[
        str | None,
        typer.Option(
            "--trial", metavar="TRIAL", help="The trial (number or key) of a per-step CSV."
        ),
    ] = None,
    force: Force = False,
    storage: Storage = None,
) -> None:
    """Feed results back into the sweep's study."""
    from ftsweep.cli.loop_actions import tell_command

    tell_command(path, results, trial=trial, force=force, storage=storage)


@app.command("import", cls=Command)
@reports_errors
def import_(
    path: SweepPath,
    jobs: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...", help="Job objects (JSON/JSONL), and result rows by job_id."
        ),
    ],
    force: Force = False,
    storage: Storage = None,
) -> None:
    """Add fine-tuning jobs run outside ftsweep as trials.

    So a sweep starts from the history of jobs already run.
    """
    from ftsweep.cli.loop_actions import import_command

    import_command(path, jobs, force=force, storage=storage)


@app.command(cls=Command)
@reports_errors
def trials(
    path: SweepPath,
    format: Annotated[
        TrialsFormat,
        typer.Option("--format", "-f", metavar="FORMAT", help="table, csv, json or parquet."),
    ] = TrialsFormat.table,
    output: Output = None,
    storage: Storage = None,
    wide: Wide = False,
    prices: Prices = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            metavar="COUNT",
            min=1,
            help=f"Only the last COUNT trials (a table on a terminal: {TABLE_TRIALS}).",
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every trial, on a terminal too.")] = False,
) -> None:
    """List the sweep's trials, one row each.

    The columns are those of the trials frame, documented in the README; actual_cost prices
    each finished job's trained tokens.
    """
    from ftsweep.cli.loop_actions import trials_command

    trials_command(
        path,
        format.value,
        output=output,
        storage=storage,
        wide=wide,
        limit=limit,
        every=all_,
        prices=prices,
    )


@app.command(cls=Command)
@reports_errors
def best(path: SweepPath, storage: Storage = None, wide: Wide = False) -> None:
    """Show the best trial.

    A sweep with several objectives shows its Pareto front: every trial no other beats on all.
    """
    from ftsweep.cli.loop_actions import best_command

    best_command(path, storage=storage, wide=wide)


@app.command(cls=Command)
@reports_errors
def importance(path: SweepPath, storage: Storage = None) -> None:
    """Show Optuna's parameter importances for each objective."""
    from ftsweep.cli.loop_actions import importance_command

    importance_command(path, storage=storage)

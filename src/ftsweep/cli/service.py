"""The commands that talk to the fine-tuning service: submit, sync, cancel, run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ftsweep.cli.app import Command, Prices, SweepPath, app, reports_errors
from ftsweep.cli.loop import Storage

__all__ = ["cancel", "run", "submit", "sync"]

ProviderOption = Annotated[
    Literal["openai", "azure", "local"] | None,
    typer.Option(
        "--provider",
        metavar="PROVIDER",
        help="openai, azure or local (default: the sweep file's service.provider, else openai).",
    ),
]
Parallel = Annotated[
    int | None,
    typer.Option(
        "--parallel",
        "-p",
        metavar="K",
        min=1,
        max=64,
        help="Jobs created (run: kept) at once (default: service.parallel, else 4; local: 1).",
    ),
]
Interval = Annotated[
    float | None,
    typer.Option(
        "--interval",
        metavar="SECONDS",
        min=0.1,
        help="Seconds between looks at running jobs (default: service.poll_interval, 30; local 2).",
    ),
]


@app.command(cls=Command)
@reports_errors
def submit(
    path: SweepPath,
    batch: Annotated[
        Path | None,
        typer.Argument(metavar="BATCH", help="A batch file `ftsweep ask` wrote: its trials."),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option(
            "-n", "--count", metavar="COUNT", min=1, max=1_000_000, help="Ask COUNT new trials."
        ),
    ] = None,
    parallel: Parallel = None,
    provider: ProviderOption = None,
    storage: Storage = None,
    prices: Prices = None,
) -> None:
    """Create jobs for the sweep's trials, one per trial, never two.

    With -n, ask COUNT trials and submit them; with BATCH, submit the trials of that file; with
    neither, submit every trial that has no job yet (the resume after a crash). Trials left
    without a job by an earlier submit go first. Local training files are uploaded once.
    """
    from ftsweep.cli.service_actions import submit_command

    submit_command(
        path, batch, n, parallel=parallel, provider=provider, storage=storage, prices=prices
    )


@app.command(cls=Command)
@reports_errors
def sync(
    path: SweepPath,
    wait: Annotated[
        bool, typer.Option("--wait", help="Keep syncing until every job of the sweep finished.")
    ] = False,
    interval: Interval = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Cancel the running jobs the sweep's prune: rule judges hopeless."
        ),
    ] = False,
    provider: ProviderOption = None,
    storage: Storage = None,
) -> None:
    """Pull the sweep's jobs and tell the study what finished.

    Status, resolved hyperparameters, trained tokens and the objective's metrics (from result
    files, else metric events and checkpoints). With prune: in the sweep, also each running
    job's curve (stored as Optuna's intermediate values); --prune then cancels the hopeless
    jobs and records them as pruned. Syncing twice changes nothing. Ctrl-C stops waiting and
    loses nothing.
    """
    from ftsweep.cli.service_actions import sync_command

    sync_command(
        path, wait=wait, interval=interval, prune=prune, provider=provider, storage=storage
    )


@app.command(cls=Command)
@reports_errors
def cancel(
    path: SweepPath,
    keys: Annotated[
        list[str] | None,
        typer.Argument(metavar="TRIAL_KEY", help="The trials whose jobs to cancel."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Cancel every running job of the sweep.")] = (
        False
    ),
    provider: ProviderOption = None,
    storage: Storage = None,
) -> None:
    """Cancel running jobs of the sweep.

    The next sync records them as cancelled (failed trials).
    """
    from ftsweep.cli.service_actions import cancel_command

    cancel_command(path, keys or [], all_, provider=provider, storage=storage)


@app.command(cls=Command)
@reports_errors
def run(
    path: SweepPath,
    parallel: Parallel = None,
    interval: Interval = None,
    provider: ProviderOption = None,
    storage: Storage = None,
    prices: Prices = None,
) -> None:
    """Run the whole sweep: submit, sync, ask again, until it is done.

    Keeps K jobs in flight; with prune: in the sweep, cancels the jobs judged hopeless.
    Ends when max_trials or the budget is reached or the space is used up and every job
    finished. Safe to
    stop (Ctrl-C, a crash) and start again: it carries on where it was.
    """
    from ftsweep.cli.service_actions import run_command

    run_command(
        path,
        parallel=parallel,
        interval=interval,
        provider=provider,
        storage=storage,
        prices=prices,
    )

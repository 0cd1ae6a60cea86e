"""A progress bar for long reads of a data file, on stderr, and only when stderr is a terminal.

It starts on the first report, so that a count the cache answers shows nothing.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftsweep.data.cost import Costing
    from ftsweep.sweep.load import Sweep

__all__ = ["counted_costing", "file_progress"]


@contextlib.contextmanager
def file_progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the bytes read so far, drawing a bar of `total` bytes (None when
    stderr is not a terminal: nothing is drawn)."""
    if not sys.stderr.isatty() or total <= 0:
        yield None
        return
    bar: list[Any] = []

    def report(done: int) -> None:
        if not bar:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            progress = Progress(
                f"[progress.description]{label}",
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            progress.start()
            bar.extend([progress, progress.add_task(label, total=total)])
        bar[0].update(bar[1], completed=done)

    try:
        yield report
    finally:
        if bar:
            bar[0].stop()


def counted_costing(sweep: Sweep, prices: Path | None) -> Costing:
    """The sweep's costing, its training file counted (when the cache cannot answer) under a
    progress bar on a terminal."""
    from ftsweep.data.cost import costing_for
    from ftsweep.data.sizes import local_data

    path = local_data(sweep)
    size = path.stat().st_size if path is not None else 0
    label = f"counting tokens in {path.name}" if path is not None else "counting tokens"
    with file_progress(size, label) as progress:
        return costing_for(sweep, prices, progress=progress)

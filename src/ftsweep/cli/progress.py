"""A progress bar for long reads of a data file, on stderr, and only when stderr is a terminal.

It starts on the first report, so that a count the cache answers shows nothing.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["file_progress"]


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

"""Progress bars for long operations: on a terminal only, quiet when output is piped."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["track"]

T = TypeVar("T")
_MIN_ITEMS = 500  # below this an operation is quick enough to need no bar


def track(items: Iterable[T], total: int, description: str) -> Iterator[T]:
    """Iterate `items`, drawing a bar on stderr when it is a terminal and the job is long."""
    if total < _MIN_ITEMS or not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import track as rich_track

    yield from rich_track(
        items, total=total, description=description, console=Console(stderr=True), transient=True
    )

"""The token counts of a training file: a streaming, parallel count reduced to a summary.

Each chunk of the file (see `scan`) is parsed with orjson and the strings of all its examples are
counted in one call into the tokenizer's fast path; the per-example counts come back as 4-byte
integers (`array('I')`), so a file of millions of examples costs a few MB to summarise, and the
median is exact.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import orjson

from ftsweep.data.scan import CHUNK_SIZE, Progress, iter_lines, scan
from ftsweep.data.tokens import CONTEXT_LIMIT, METHODS, example_texts, tokenizer_for

__all__ = ["TokenCounts", "count_file", "median"]


@dataclass(frozen=True)
class TokenCounts:
    """A file's examples and their tokens. `total_capped` caps each example at the context limit
    (what training sees, API_FACTS section 5); `over_limit` lists the lines of examples longer
    than that; lines that are not JSON objects are skipped, and blank lines are not examples."""

    examples: int
    total: int
    total_capped: int
    min: int
    median: float
    max: int
    over_limit: tuple[int, ...]
    invalid_lines: tuple[int, ...]
    blank_lines: int
    tokenizer: str

    @property
    def invalid(self) -> int:
        return len(self.invalid_lines)


@dataclass
class _Chunk:
    """One chunk's part of the summary, small and picklable (arrays pickle as raw bytes)."""

    counts: array[int]
    lines: array[int]  # the line of each count
    invalid: array[int]
    blank: int


def count_file(
    path: Path | str,
    method: str,
    tokenizer_name: str,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> TokenCounts:
    """Count every example of a JSONL training file of `method` with the named encoding.

    `workers` and `progress` are `scan`'s: by default every core for a big file. The tokenizer is
    checked in this process first, so a missing or damaged table fails before any worker starts."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    tokenizer_for(None, tokenizer_name)
    fn = partial(count_chunk, method, tokenizer_name, True)
    chunks = scan(Path(path), fn, workers=workers, chunk_size=chunk_size, progress=progress)
    return _summarise(chunks, tokenizer_name)


def count_chunk(method: str, tokenizer_name: str, fast: bool, first: int, data: bytes) -> _Chunk:
    """The counts of one chunk's examples (module-level, so a process pool can pickle it)."""
    texts: list[str] = []
    ends: list[int] = []
    fixed = array("I")
    chunk = _Chunk(array("I"), array("I"), array("I"), 0)
    for number, line in iter_lines(first, data):
        row = _parse(line)
        if isinstance(row, dict):
            row_texts, row_fixed = example_texts(row, method)
            texts += row_texts
            ends.append(len(texts))
            fixed.append(row_fixed)
            chunk.lines.append(number)
        elif row is None:
            chunk.blank += 1
        else:
            chunk.invalid.append(number)
    tokenizer = tokenizer_for(None, tokenizer_name)
    counts = tokenizer.count_many(texts) if fast else [len(tokenizer.encode(t)) for t in texts]
    start = 0
    for end, row_fixed in zip(ends, fixed, strict=True):
        chunk.counts.append(row_fixed + sum(counts[start:end]))
        start = end
    return chunk


def _parse(line: bytes) -> object:
    """The line's JSON value; None for a blank line; False for one that is not JSON."""
    if not line.strip():
        return None
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return False


def _summarise(chunks: Iterable[_Chunk], tokenizer: str) -> TokenCounts:
    counts, over, invalid, blank = array("I"), array("I"), array("I"), 0
    total = capped = 0
    for chunk in chunks:
        counts.extend(chunk.counts)
        total += sum(chunk.counts)
        capped += sum(min(count, CONTEXT_LIMIT) for count in chunk.counts)
        over.extend(n for n, c in zip(chunk.lines, chunk.counts, strict=True) if c > CONTEXT_LIMIT)
        invalid.extend(chunk.invalid)
        blank += chunk.blank
    return TokenCounts(
        examples=len(counts),
        total=total,
        total_capped=capped,
        min=min(counts, default=0),
        median=median(counts),
        max=max(counts, default=0),
        over_limit=tuple(over),
        invalid_lines=tuple(invalid),
        blank_lines=blank,
        tokenizer=tokenizer,
    )


def median(counts: array[int]) -> float:
    """The exact median, sorted as 4-byte integers (numpy) rather than a list of Python ints."""
    if not counts:
        return 0.0
    import numpy as np

    ordered = np.sort(np.frombuffer(counts, dtype=f"u{counts.itemsize}"))
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (int(ordered[middle - 1]) + int(ordered[middle])) / 2

"""`ftsweep check`: a sweep's training and validation files against everything that would fail or
waste a job, read once each, in parallel for big files.

One pass over each file does every check of a row: its JSON syntax and its method's format
(`ftsweep.data.rows`), the fields its grader's `{{ item.* }}` templates read
(`ftsweep.data.fields`), its tokens (`ftsweep.data.tokens`: over the context is a warning), and its
key for duplicates. Then come the file rules (how many rows, the reinforcement limits), the
duplicates within a file and between the validation and the training file, and the grader's
templates themselves (namespaces, `sample.output_json` paths against the `response_format`).

Every finding is kept with its line, so that all of them are shown at once; a file that is
nothing but errors keeps the first `KEPT_PER_CHUNK` of each chunk and counts the rest.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftsweep.data.cost import DataSize, auto_epochs
from ftsweep.data.counts import median
from ftsweep.data.fields import ItemPaths, MissingFields, item_paths, missing_paths
from ftsweep.data.findings import Finding
from ftsweep.data.rows import (
    Duplicates,
    check_counts,
    check_line,
    check_row,
    example_key,
    over_context,
)
from ftsweep.data.scan import Progress, iter_lines, scan
from ftsweep.data.tokens import CONTEXT_LIMIT, example_texts, tokenizer_for

if TYPE_CHECKING:
    from ftsweep.api.graders import AnyGrader

__all__ = ["KEPT_PER_CHUNK", "DataReport", "FileReport", "check_data", "check_file"]

KEPT_PER_CHUNK = 200  # findings a chunk of a file keeps; more are counted, not kept
_BOM = b"\xef\xbb\xbf"


@dataclass
class _Chunk:
    """What one chunk of a file found; small and picklable."""

    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0
    counts: array[int] = field(default_factory=lambda: array("I"))
    lines: array[int] = field(default_factory=lambda: array("I"))
    duplicates: Duplicates = field(default_factory=Duplicates)
    missing: MissingFields = field(default_factory=MissingFields)

    def keep(self, found: Iterable[Finding]) -> None:
        for finding in found:
            if len(self.findings) < KEPT_PER_CHUNK:
                self.findings.append(finding)
            else:
                self.dropped += 1


def check_chunk(
    method: str, tokenizer_name: str, paths: ItemPaths, first: int, data: bytes
) -> _Chunk:
    """Every row check of one chunk (module-level, so that a process pool can pickle it)."""
    chunk, texts, ends, fixed = _Chunk(), list[str](), list[int](), list[int]()
    for number, line in iter_lines(first, data):
        row, found = check_line(line, number, method)
        if row is not None:
            found += check_row(row, number, method)
            row_texts, row_fixed = example_texts(row, method)
            texts += row_texts
            ends.append(len(texts))
            fixed.append(row_fixed)
            chunk.lines.append(number)
            chunk.duplicates.add(example_key(row, method), number)
            if paths:
                chunk.missing.add(number, missing_paths(row, paths))
        chunk.keep(found)
    counts = tokenizer_for(None, tokenizer_name).count_many(texts)
    start = 0
    for end, row_fixed, number in zip(ends, fixed, chunk.lines, strict=True):
        count = row_fixed + sum(counts[start:end])
        chunk.counts.append(count)
        start = end
        long = over_context(count, number)
        if long is not None:
            chunk.keep([long])
    return chunk


@dataclass
class FileReport:
    """One data file, checked: its findings in line order, its examples' token counts."""

    path: Path
    role: str  # training or validation
    findings: list[Finding]
    dropped: int
    counts: array[int]
    over_context: list[int]
    duplicates: Duplicates
    missing: MissingFields

    @property
    def rows(self) -> int:
        return len(self.counts)

    @property
    def size(self) -> DataSize:
        """The file as billing sees it: each example capped at the context limit."""
        return DataSize(self.rows, sum(min(c, CONTEXT_LIMIT) for c in self.counts))

    def stats(self) -> tuple[int, float, int, int]:
        """min, median, max and total tokens per example."""
        counts = self.counts
        return min(counts, default=0), median(counts), max(counts, default=0), sum(counts)


def check_file(
    path: Path,
    role: str,
    method: str,
    tokenizer: str,
    paths: ItemPaths | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> FileReport:
    """Check every row of one file (see the module docstring)."""
    report = FileReport(path, role, [], 0, array("I"), [], Duplicates(), MissingFields())
    if _starts_with_bom(path):
        rule = "starts with a UTF-8 byte order mark: save the file as UTF-8 without one"
        report.findings.append(Finding(_problem(rule, 1)))
    fn = partial(check_chunk, method, tokenizer, paths or ItemPaths())
    for chunk in scan(path, fn, workers=workers, progress=progress):
        _merge(report, chunk)
    report.findings.sort(key=lambda f: f.problem.line or 0)
    return report


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(3) == _BOM


def _problem(rule: str, line: int | None = None) -> Any:
    from ftsweep.errors import Problem

    return Problem((), rule, line=line)


def _merge(report: FileReport, chunk: _Chunk) -> None:
    report.findings += chunk.findings
    report.dropped += chunk.dropped
    report.counts.extend(chunk.counts)
    report.over_context += [
        n for n, c in zip(chunk.lines, chunk.counts, strict=True) if c > CONTEXT_LIMIT
    ]
    report.duplicates.merge(chunk.duplicates)
    report.missing.merge(chunk.missing)


@dataclass
class DataReport:
    """A sweep's data files, checked, and what is wrong across them (`general`: the grader's
    templates, the row counts), each finding under the file it is about (None: the sweep)."""

    method: str
    tokenizer: str
    files: list[FileReport]
    general: list[tuple[str | None, Finding]]

    def findings(self) -> Iterator[tuple[str | None, Finding]]:
        """Every finding, each with the file it is about, files first in line order."""
        for report in self.files:
            for finding in report.findings:
                yield str(report.path), finding
        yield from self.general

    @property
    def errors(self) -> int:
        return sum(1 for _, f in self.findings() if f.is_error) + sum(r.dropped for r in self.files)

    @property
    def warnings(self) -> int:
        return sum(1 for _, f in self.findings() if not f.is_error)

    @property
    def epochs(self) -> int | None:
        """What `n_epochs: auto` resolves to for the training file."""
        training = self.training
        return auto_epochs(training.rows) if training is not None else None

    @property
    def training(self) -> FileReport | None:
        return next((r for r in self.files if r.role == "training"), None)


def check_data(
    method: str,
    files: Mapping[str, Path | None],
    *,
    tokenizer: str,
    remote: Iterable[str] = (),
    grader: AnyGrader | None = None,
    response_format: Any = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> DataReport:
    """Check a sweep's data: `files` maps `training` (and `validation`) to a local file;
    `remote` names the roles given as file ids (on the service: not checked here)."""
    paths, general = ItemPaths(), list[tuple[str | None, Finding]]()
    if grader is not None:
        paths, found = item_paths(grader, response_format)
        general += [(None, f) for f in found]
    reports = [
        check_file(path, role, method, tokenizer, paths, workers=workers, progress=progress)
        for role, path in files.items()
        if path is not None
    ]
    general += _across(method, reports, set(remote))
    return DataReport(method, tokenizer, reports, general)


def _across(
    method: str, reports: list[FileReport], remote: set[str]
) -> list[tuple[str | None, Finding]]:
    """The findings over whole files: row counts, duplicates, missing grader fields."""
    by_role = {r.role: r for r in reports}
    out: list[tuple[str | None, Finding]] = []
    for report in reports:
        where = str(report.path)
        out += [(where, f) for f in report.duplicates.findings()]
        out += [(where, Finding(p)) for p in report.missing.problems()]
    training, validation = by_role.get("training"), by_role.get("validation")
    if training is not None and validation is not None:
        shared = validation.duplicates.shared_with(training.duplicates)
        out += [(str(validation.path), f) for f in shared]
    if training is not None:
        valid_rows = validation.rows if validation is not None else None
        if validation is None and "validation" in remote:
            valid_rows = 1  # a file id: its rows are not counted here, so no rule applies
        out += [(None, Finding(p)) for p in check_counts(method, training.rows, valid_rows)]
    return out

"""What `ftsweep check` does, between parsing its arguments and exiting."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ftsweep.data.check import DataReport, FileReport, check_data
from ftsweep.errors import PlanError

if TYPE_CHECKING:
    from ftsweep.sweep.load import Sweep

__all__ = ["check_command"]

#: Findings shown per file before the rest are only counted (all are counted in the totals).
SHOWN_PER_FILE = 1_000


def check_command(
    path: Path | None,
    *,
    training: Path | None,
    validation: Path | None,
    data: Path | None,
    method: str | None,
    model: str | None,
    tokenizer: str | None,
) -> None:
    if path is None:
        report = _check_alone(data, method, model, tokenizer, validation)
    else:
        if data is not None or method is not None:
            raise PlanError("--data and --method check a file without a sweep: drop SWEEP")
        report = _check_sweep(path, training, validation, tokenizer)
    _print(report)
    if report.errors:
        raise typer.Exit(2)


def _check_alone(
    data: Path | None,
    method: str | None,
    model: str | None,
    tokenizer: str | None,
    validation: Path | None,
) -> DataReport:
    from ftsweep.data.tokens import tokenizer_for

    if data is None or method is None:
        raise PlanError("name a sweep file, or a data file with --data FILE --method METHOD")
    _readable(data)
    if validation is not None:
        _readable(validation)
    name = tokenizer_for(model, tokenizer).name if model or tokenizer else "o200k_base"
    files = {"training": data, "validation": validation}
    with _progress(data) as progress:
        return check_data(method, files, tokenizer=name, progress=progress)


def _check_sweep(
    path: Path, training: Path | None, validation: Path | None, tokenizer: str | None
) -> DataReport:
    from ftsweep.data.sizes import remember_size, sweep_tokenizer
    from ftsweep.data.tokens import tokenizer_for
    from ftsweep.sweep.load import load_sweep

    sweep = load_sweep(path)
    name = tokenizer_for(None, tokenizer).name if tokenizer else sweep_tokenizer(sweep)
    files = {
        "training": training or sweep.data_file("training_file"),
        "validation": validation or sweep.data_file("validation_file"),
    }
    files = {role: _tidy(file) for role, file in files.items()}
    remote = [role for role, file in files.items() if file is None and _named(sweep, role)]
    if files["training"] is None:
        raise PlanError(
            f"{path}: training_file {sweep.spec.training_file!r} is not a local file: name one "
            "with --training FILE to check it"
        )
    with _progress(files["training"]) as progress:
        report = check_data(
            sweep.method,
            files,
            tokenizer=name,
            remote=remote,
            grader=sweep.grader,
            response_format=sweep.response_format,
            progress=progress,
        )
    if report.training is not None and training is None:
        remember_size(files["training"], sweep.method, name, report.training.size)
    return report


def _tidy(path: Path | None) -> Path | None:
    """`sweeps/../data/train.jsonl` as `data/train.jsonl` when that is the same file (it is
    not when `sweeps` is a symbolic link)."""
    if path is None:
        return None
    tidy = Path(os.path.normpath(path))
    return tidy if tidy.is_file() and os.path.samefile(tidy, path) else path


def _named(sweep: Sweep, role: str) -> bool:
    return getattr(sweep.spec, f"{role}_file") is not None


def _readable(path: Path) -> None:
    if not path.exists():
        raise PlanError(f"{path}: no such file")
    if not path.is_file():
        raise PlanError(f"{path}: not a regular file: check reads a JSONL file on disk")


@contextlib.contextmanager
def _progress(path: Path) -> Iterator[Callable[[int], None] | None]:
    from ftsweep.cli.progress import file_progress

    with file_progress(path.stat().st_size, f"checking {path.name}") as progress:
        yield progress


def _print(report: DataReport) -> None:
    shown: dict[str | None, int] = {}
    for file, finding in report.findings():
        shown[file] = shown.get(file, 0) + 1
        if shown[file] > SHOWN_PER_FILE:
            continue
        prefix = "" if finding.is_error else "warning: "
        typer.echo(prefix + finding.render(file))
    for file, count in shown.items():
        if count > SHOWN_PER_FILE:
            typer.echo(f"{file}: {count - SHOWN_PER_FILE:,} more not shown")
    for file_report in report.files:
        typer.echo(_summary(file_report))
    if report.epochs is not None:
        typer.echo(f"n_epochs auto resolves to {report.epochs} for this training file")
    typer.echo(_verdict(report))


def _summary(report: FileReport) -> str:
    low, median, high, total = report.stats()
    median_text = f"{median:,.0f}" if median == int(median) else f"{median:,.1f}"
    text = (
        f"{report.role} {report.path}: {report.rows:,} rows; tokens per example "
        f"{low:,} min / {median_text} median / {high:,} max, {total:,} in all"
    )
    if report.over_context:
        text += f"; {len(report.over_context):,} over the context (truncated)"
    return text


def _verdict(report: DataReport) -> str:
    errors, warnings = report.errors, report.warnings
    if not errors and not warnings:
        return "ok: no problems found"
    parts = [f"{errors:,} error{'s' if errors != 1 else ''}"]
    parts.append(f"{warnings:,} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)

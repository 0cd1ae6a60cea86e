"""Checking a journal file for damage, and repairing it (`ftsweep doctor`).

A check reads every line the way `JournalFile` does, but lists every damaged line instead of
stopping at the first, then replays the intact records with Optuna to count studies and trials
(a record Optuna cannot replay is damaged too). A repair, under the journal's lock, keeps the
damaged file as `<journal>.damaged-YYYYmmddTHHMMSS`, and replaces the journal atomically (temp
file, fsync, rename) by its intact records, one a line: damaged lines, framing records and an
incomplete tail are dropped.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from ftsweep.errors import NoStudyError, StudyError
from ftsweep.study.store.journal import (
    LOCK_SUFFIX,
    REPLAY_ERRORS,
    Entry,
    locked,
    scan,
    unusable,
)
from ftsweep.study.store.storage import StorageLocation

__all__ = ["Damage", "JournalReport", "Repair", "check_journal", "repair_journal"]

_MAX_REPLAYS = 100  # records Optuna cannot replay that a check drops one by one before giving up


@dataclass(frozen=True)
class Damage:
    """A damaged line (numbered from 1) and what is wrong with it."""

    line: int
    reason: str


@dataclass(frozen=True)
class JournalReport:
    """What a journal holds: intact records, studies and trials, its damage and incomplete tail."""

    path: Path
    records: int
    studies: int
    trials: int
    damage: tuple[Damage, ...] = ()
    tail: Damage | None = None

    @property
    def intact(self) -> bool:
        return not self.damage and self.tail is None

    @property
    def dropped(self) -> tuple[Damage, ...]:
        return self.damage + ((self.tail,) if self.tail else ())


@dataclass(frozen=True)
class Repair:
    """A repair's report (of the journal as it was) and where the damaged file was kept."""

    report: JournalReport
    kept_as: Path | None  # None: the journal was intact, nothing was written


def check_journal(location: StorageLocation) -> JournalReport:
    """The journal's report; a journal that is missing is a NoStudyError."""
    report, _ = _check(_journal_path(location))
    return report


def repair_journal(location: StorageLocation) -> Repair:
    """Drop the journal's damage, keeping the damaged file beside it (see the module docstring)."""
    path = _journal_path(location)
    with locked(path.with_name(path.name + LOCK_SUFFIX)):
        report, kept = _check(path)
        if report.intact:
            return Repair(report, None)
        backup = _backup(path)
        _replace(path, kept)
    return Repair(report, backup)


def _journal_path(location: StorageLocation) -> Path:
    if location.path is None:
        raise StudyError(f"{location.kind} storage: doctor checks journal files only")
    if not os.path.lexists(location.path):
        raise NoStudyError(f"storage {location.path}: no journal file: nothing to check")
    return location.path


def _check(path: Path) -> tuple[JournalReport, bytes]:
    data = _read(path)
    entries = list(scan(io.BytesIO(data), 0, 0, len(data)))
    damage = [Damage(e.number + 1, e.problem) for e in entries if e.problem is not None]
    kept = [e for e in entries if e.problem is None and not e.frame]
    end = entries[-1].end if entries else 0
    tail = None
    if end < len(data):
        line = entries[-1].number + 2 if entries else 1
        tail = Damage(line, f"an incomplete append at the end ({len(data) - end:,} bytes)")
    studies, trials = _replay(kept, damage)
    lines = {d.line for d in damage}
    kept = [e for e in kept if e.number + 1 not in lines]
    damage.sort(key=lambda d: d.line)
    report = JournalReport(path, len(kept), studies, trials, tuple(damage), tail)
    return report, b"".join(data[e.start : e.end] for e in kept)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise unusable(path, exc) from None


def _replay(kept: list[Entry], damage: list[Damage]) -> tuple[int, int]:
    """Studies and trials of the intact records; one Optuna cannot replay joins `damage`."""
    logs = list(kept)
    for _ in range(_MAX_REPLAYS):
        backend = _Logs([e.log for e in logs if e.log is not None])
        try:
            storage = JournalStorage(backend)
        except REPLAY_ERRORS as exc:
            bad = logs.pop(backend.last_read)
            damage.append(Damage(bad.number + 1, f"Optuna cannot replay it ({exc!r})"))
            continue
        studies = storage.get_all_studies()
        trials = sum(len(storage.get_all_trials(s._study_id, deepcopy=False)) for s in studies)
        return len(studies), trials
    raise StudyError(f"{len(damage)} records of the journal cannot be replayed: giving up")


def _backup(path: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.damaged-{stamp}")
    serial = 1
    while os.path.lexists(backup):
        backup = path.with_name(f"{path.name}.damaged-{stamp}-{serial}")
        serial += 1
    try:
        shutil.copy2(path, backup)
    except OSError as exc:
        raise StudyError(f"cannot keep the damaged journal as {backup}: {exc.strerror}") from None
    return backup


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".repair-tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise StudyError(f"cannot write the repaired journal {path}: {exc.strerror}") from None


class _Logs(BaseJournalBackend):
    """The records being checked, for Optuna to replay from memory."""

    def __init__(self, logs: list[dict[str, Any]]) -> None:
        self.logs = logs
        self.last_read = 0

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        for number in range(log_number_from, len(self.logs)):
            self.last_read = number
            yield self.logs[number]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        raise StudyError("a journal being checked is not written to")

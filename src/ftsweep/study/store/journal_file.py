"""ftsweep's journal file: Optuna's journal format, appended all-or-nothing under a kernel lock.

The file is Optuna's own (`JournalFileBackend` reads it, `JournalStorage` replays it), with two
guarantees Optuna's backend lacks:

- Locking is `fcntl.flock` on `<journal>.write-lock`. The kernel drops the lock when its holder
  dies, so a killed command never leaves a lock the next one waits on.
- An append of more than one record is framed: a first record, a study system attribute
  `ftsweep:append` of study -1 holding how many records and bytes follow (Optuna replays it as a
  write to a study that does not exist, by another worker: it ignores it), then the records. A
  reader takes a framed append whole or, while its bytes are not all there, not at all. The next
  writer, under the lock, cuts the file back to where an incomplete append (or an incomplete last
  line) began before it writes: nothing ever lands after a damaged tail.

Every record is checked before it is replayed (a JSON object, a known op code, the fields that
op needs); a damaged one is a DamagedStudyError naming the file and line. `ftsweep doctor`
(`ftsweep.study.store.doctor`) lists the damage and repairs it. Nothing here imports Optuna:
Optuna reads the file through `ftsweep.study.store.journal`, ftsweep's own readers
(`ftsweep.study.store.journal_replay`) directly.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ftsweep.errors import DamagedStudyError, StudyError
from ftsweep.study.store.journal_format import Entry, encode, frame_record, scan

__all__ = ["LOCK_SUFFIX", "JournalFile", "damaged", "doctor_hint", "locked", "unusable"]

LOCK_SUFFIX = ".write-lock"


def doctor_hint() -> str:
    return (
        "`ftsweep doctor SWEEP` lists the damage, `ftsweep doctor SWEEP --repair` drops it "
        "(keeping the damaged file beside it)"
    )


class JournalFile:
    """A journal file, read and appended as the module docstring says."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + LOCK_SUFFIX)
        self.read_only = read_only
        self.last_read: int | None = None  # the line of the last record handed to Optuna
        self._offsets = {0: 0}  # line number -> where it starts, for every whole line read
        self._known = 0  # the last line number in _offsets
        self._identity: tuple[int, int] | None = None
        self._thread_lock = threading.Lock()
        self._pending: list[dict[str, Any]] | None = None  # a transaction's records, unwritten
        if not read_only:
            self._create()

    def allow_writes(self) -> None:
        """Let appends through from now on (a journal read first, then written): the file and
        its directory are made if missing."""
        if self.read_only:
            self._create()
            self.read_only = False

    def _create(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab"):
                pass
        except OSError as exc:
            raise unusable(self.path, exc) from None

    def read_logs(self, log_number_from: int, *, pending: bool = True) -> Iterator[dict[str, Any]]:
        """The records from line `log_number_from` on; in a transaction, then its pending ones
        unless `pending` is False (a reader that must never see what may not be written)."""
        start = log_number_from if log_number_from in self._offsets else 0
        if log_number_from > self._known:  # past the file: a transaction's pending records
            start = self._known
        with self._open("rb") as file:
            for entry in scan(file, start, self._offsets[start], self._size(file)):
                self._note(entry)
                if entry.number >= log_number_from and entry.log is not None:
                    self.last_read = entry.number
                    yield entry.log
        if pending and self._pending:  # after the file, as they will stand once written: framed
            logs = [frame_record({}), *self._pending]
            yield from logs[max(0, log_number_from - self._known) :]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append `logs` whole (framed when several), flushed and fsynced, under the lock; in a
        transaction, keep them until it ends."""
        if self.read_only:
            raise StudyError(f"storage {self.path} is open read-only: nothing is written to it")
        if self._pending is not None:
            self._pending.extend(logs)
        else:
            self._write(encode(logs))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Appends in the block are written at its end as one framed append, all or nothing;
        reads in the block see them already. If the block fails nothing is written, and the
        storage that replayed them must be dropped. The caller holds the study's lock, so no
        other process appends in between (a trial's id depends on the records before it)."""
        if self._pending is not None:
            yield  # already in one: it writes everything
            return
        self._pending = []
        try:
            yield
            pending = self._pending
        finally:
            self._pending = None
        if pending:
            self._write(encode(pending, framed=True))

    def _write(self, payload: bytes) -> None:
        with self._thread_lock, locked(self.lock_path), self._open("r+b") as file:
            end = self._whole_end(file)
            file.truncate(end)  # an incomplete append or last line: as if never written
            file.seek(end)
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())

    def _whole_end(self, file: IO[bytes]) -> int:
        """Where the whole lines end: every line is checked before anything is written after."""
        end = self._offsets[self._known]
        for entry in scan(file, self._known, end, self._size(file)):
            self._note(entry)
            end = entry.end
        return end

    def _note(self, entry: Entry) -> None:
        if entry.problem is not None:
            raise damaged(self.path, entry.number, entry.problem)
        self._offsets[entry.number + 1] = entry.end
        self._known = max(self._known, entry.number + 1)

    @contextlib.contextmanager
    def _open(self, mode: str) -> Iterator[IO[bytes]]:
        try:
            file = open(self.path, mode)
        except OSError as exc:
            raise unusable(self.path, exc, read_only=self.read_only) from None
        with file:
            yield file

    def _size(self, file: IO[bytes]) -> int:
        """The file's size; refused when another file now stands at the path (a repair)."""
        status = os.fstat(file.fileno())
        identity = (status.st_dev, status.st_ino)
        if self._identity is None:
            self._identity = identity
        elif identity != self._identity:
            raise StudyError(
                f"storage {self.path} was replaced while this command ran (by `ftsweep doctor "
                "--repair`?): run the command again"
            )
        return status.st_size


def unusable(path: Path, exc: OSError, *, read_only: bool = False) -> StudyError:
    """The error for a journal that cannot be opened."""
    if isinstance(exc, IsADirectoryError):
        return DamagedStudyError(f"storage {path} is a directory, not a journal file: move it away")
    if isinstance(exc, FileNotFoundError) and read_only:
        return StudyError(f"storage {path}: no study: the journal file does not exist")
    return DamagedStudyError(f"storage {path}: {exc.strerror or exc}")


def damaged(path: Path, number: int, problem: str) -> DamagedStudyError:
    return DamagedStudyError(
        f"storage {path} is damaged at line {number + 1}: {problem}; {doctor_hint()}"
    )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (made if missing); a dead holder's lock is free."""
    try:
        handle = open(path, "a")
    except OSError as exc:
        raise StudyError(f"storage lock {path}: {exc.strerror or exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

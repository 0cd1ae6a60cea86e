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

Every record is checked before Optuna replays it (a JSON object, a known op code, the fields that
op needs); a damaged one is a DamagedStudyError naming the file and line. `ftsweep doctor`
(`ftsweep.study.store.doctor`) lists the damage and repairs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from ftsweep.errors import DamagedStudyError, StudyError

__all__ = [
    "APPEND",
    "Entry",
    "JournalFile",
    "JournalFileStorage",
    "damaged",
    "doctor_hint",
    "encode",
    "locked",
    "now",
    "open_journal",
    "scan",
    "state_record",
    "unusable",
    "check_record",
    "trial_attr_record",
]

APPEND = "ftsweep:append"  # the framing record's attribute, and its worker id
LOCK_SUFFIX = ".write-lock"

# Optuna's JournalOperation op codes (optuna/storages/journal/_storage.py; a test pins them).
CREATE_STUDY, DELETE_STUDY, SET_STUDY_USER_ATTR, SET_STUDY_SYSTEM_ATTR = 0, 1, 2, 3
CREATE_TRIAL, SET_TRIAL_PARAM, SET_TRIAL_STATE_VALUES, SET_TRIAL_INTERMEDIATE_VALUE = 4, 5, 6, 7
SET_TRIAL_USER_ATTR, SET_TRIAL_SYSTEM_ATTR, DISCARD_TRIALS = 8, 9, 10
_RUNNING, _WAITING = 0, 4  # TrialState values: RUNNING, COMPLETE, PRUNED, FAIL, WAITING

_NONE = type(None)
_NUMBER = (int, float)
# The fields each op needs when Optuna replays it, and their JSON types.
_FIELDS: dict[int, dict[str, Any]] = {
    CREATE_STUDY: {"study_name": str, "directions": list},
    DELETE_STUDY: {"study_id": int},
    SET_STUDY_USER_ATTR: {"study_id": int, "user_attr": dict},
    SET_STUDY_SYSTEM_ATTR: {"study_id": int, "system_attr": dict},
    CREATE_TRIAL: {"study_id": int, "datetime_start": (str, _NONE)},
    SET_TRIAL_PARAM: {
        "trial_id": int,
        "param_name": str,
        "param_value_internal": _NUMBER,
        "distribution": str,
    },
    SET_TRIAL_STATE_VALUES: {"trial_id": int, "state": int, "values": (list, _NONE)},
    SET_TRIAL_INTERMEDIATE_VALUE: {"trial_id": int, "step": int},
    SET_TRIAL_USER_ATTR: {"trial_id": int, "user_attr": dict},
    SET_TRIAL_SYSTEM_ATTR: {"trial_id": int, "system_attr": dict},
    DISCARD_TRIALS: {},
}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


def doctor_hint() -> str:
    return (
        "`ftsweep doctor SWEEP` lists the damage, `ftsweep doctor SWEEP --repair` drops it "
        "(keeping the damaged file beside it)"
    )


# -- records ---------------------------------------------------------------------------------


def now() -> str:
    """A completion time the way Optuna's JournalStorage writes one (it replays it naive)."""
    return datetime.now(tz=UTC).isoformat(timespec="microseconds")


def trial_attr_record(
    worker: str, trial_id: int, kind: str, key: str, value: Any
) -> dict[str, Any]:
    """One trial attribute (`kind` is "user" or "system"): the journal takes one per record."""
    op = SET_TRIAL_USER_ATTR if kind == "user" else SET_TRIAL_SYSTEM_ATTR
    return {"op_code": op, "worker_id": worker, "trial_id": trial_id, f"{kind}_attr": {key: value}}


def state_record(
    worker: str, trial_id: int, state: int, values: Sequence[float] | None, time: str
) -> dict[str, Any]:
    """A trial's new state and values; `time` is its start (running) or completion (finished)."""
    record = {
        "op_code": SET_TRIAL_STATE_VALUES,
        "worker_id": worker,
        "trial_id": trial_id,
        "state": state,
        "values": list(values) if values is not None else None,
    }
    if state == _RUNNING:
        record["datetime_start"] = time
    elif state != _WAITING:
        record["datetime_complete"] = time
    return record


def encode(logs: Sequence[dict[str, Any]], *, framed: bool = False) -> bytes:
    """The bytes one append writes: the records, framed when there are more than one (or when
    `framed` says so: a transaction's readers counted a frame before its records)."""
    body = b"".join(_line(log) for log in logs)
    if len(logs) < 2 and not framed:
        return body
    return _line(_frame_record({"records": len(logs), "bytes": len(body)})) + body


def _frame_record(frame: dict[str, int]) -> dict[str, Any]:
    head = {"op_code": SET_STUDY_SYSTEM_ATTR, "worker_id": APPEND, "study_id": -1}
    return {**head, "system_attr": {APPEND: frame}}


def _line(log: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(log, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # what orjson does not encode (a big int, NaN kept as NaN): Optuna's way
        return (json.dumps(log, separators=(",", ":")) + "\n").encode()


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One whole line of a journal: its number (from 0), its bytes, its record or its damage."""

    number: int
    start: int
    end: int
    log: dict[str, Any] | None
    problem: str | None = None
    frame: bool = False


def scan(file: IO[bytes], number: int, offset: int, size: int) -> Iterator[Entry]:
    """The whole lines from `offset` (line `number`) to `size`, each checked.

    It stops before an incomplete tail: a last line without its newline, or a framed append whose
    bytes are not all there. A frame that does not match what follows it is a damaged line, and
    the lines after it are read one by one.
    """
    file.seek(offset)
    while offset < size:
        line = file.readline()
        end = offset + len(line)
        if end > size or not line.endswith(b"\n"):
            return
        entry = _entry(number, offset, end, line)
        framed = _framed(entry)
        if framed is not None:
            body = _body(file, entry, framed, size)
            if body is None:
                return  # the append is still being written, or was cut off
            yield from body
            number, offset = body[-1].number + 1, body[-1].end
            continue
        yield entry
        number, offset = number + 1, end


def _body(file: IO[bytes], frame: Entry, framed: tuple[int, int], size: int) -> list[Entry] | None:
    records, length = framed
    if frame.end + length > size:
        return None
    chunk = file.read(length)
    lines = chunk.splitlines(keepends=True)
    if len(lines) != records or not chunk.endswith(b"\n"):
        file.seek(frame.end)
        problem = f"an append framed as {records} records of {length} bytes is not followed by them"
        return [Entry(frame.number, frame.start, frame.end, None, problem)]
    offset = frame.end
    entries = [Entry(frame.number, frame.start, frame.end, frame.log, frame=True)]
    for number, line in enumerate(lines, start=frame.number + 1):
        entries.append(_entry(number, offset, offset + len(line), line))
        offset += len(line)
    return entries


def _framed(entry: Entry) -> tuple[int, int] | None:
    """(records, bytes) of a framing record, else None."""
    log = entry.log
    if log is None or log.get("worker_id") != APPEND or log.get("op_code") != SET_STUDY_SYSTEM_ATTR:
        return None
    frame = log.get("system_attr", {}).get(APPEND)
    if not isinstance(frame, dict):
        return None
    records, length = frame.get("records"), frame.get("bytes")
    if type(records) is int and type(length) is int and records >= 0 and length >= 0:
        return records, length
    return None


def _entry(number: int, start: int, end: int, line: bytes) -> Entry:
    try:
        log = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:  # Optuna writes NaN and Infinity, which only Python's json reads
            log = json.loads(line)
        except json.JSONDecodeError as exc:
            return Entry(number, start, end, None, f"not JSON ({exc.msg} at column {exc.colno})")
        except ValueError:
            return Entry(number, start, end, None, "not JSON (not UTF-8 text)")
    problem = check_record(log)
    return Entry(number, start, end, log if problem is None else None, problem)


def check_record(log: Any) -> str | None:
    """Why Optuna could not replay `log`, or None."""
    if not isinstance(log, dict):
        return f"not a JSON object but {type(log).__name__}"
    op = log.get("op_code")
    if type(op) is not int or op not in _FIELDS:
        return f"unknown op_code {op!r}"
    if not isinstance(log.get("worker_id"), str):
        return "worker_id is missing or not a string"
    for name, kind in _FIELDS[op].items():
        if name not in log:
            return f"op_code {op} needs a {name!r} field"
        if not isinstance(log[name], kind):
            return f"{name!r} must be {_TYPE_NAMES.get(kind, 'of another type')}"
    return _check_values(op, log)


def _check_values(op: int, log: dict[str, Any]) -> str | None:
    for name in ("user_attr", "system_attr"):
        if name in _FIELDS[op] and len(log[name]) != 1:
            return f"{name!r} must hold exactly one attribute"
    if op == SET_TRIAL_STATE_VALUES:
        return _check_state(log)
    if op == CREATE_TRIAL:
        return _check_trial_times(log)
    return None


def _check_trial_times(log: dict[str, Any]) -> str | None:
    names = ["datetime_complete"] if "datetime_complete" in log else []
    names += ["datetime_start"] if log["datetime_start"] is not None else []
    for name in names:
        problem = _check_time(log, name)
        if problem is not None:
            return problem
    return None


def _check_state(log: dict[str, Any]) -> str | None:
    state = log["state"]
    if not 0 <= state <= _WAITING:
        return f"unknown trial state {state}"
    if state == _WAITING:
        return None
    return _check_time(log, "datetime_start" if state == _RUNNING else "datetime_complete")


def _check_time(log: dict[str, Any], name: str) -> str | None:
    if name not in log:
        return f"{name!r} is missing"
    value = log[name]
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return f"{name!r} is not a date and time (got {value!r})"
    return None


# -- the backend -----------------------------------------------------------------------------


class JournalFile(BaseJournalBackend):
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

    def _create(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab"):
                pass
        except OSError as exc:
            raise unusable(self.path, exc) from None

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        start = log_number_from if log_number_from in self._offsets else 0
        if log_number_from > self._known:  # past the file: a transaction's pending records
            start = self._known
        with self._open("rb") as file:
            for entry in scan(file, start, self._offsets[start], self._size(file)):
                self._note(entry)
                if entry.number >= log_number_from and entry.log is not None:
                    self.last_read = entry.number
                    yield entry.log
        if self._pending:  # after the file, as they will stand once written: framed
            pending = [_frame_record({}), *self._pending]
            yield from pending[max(0, log_number_from - self._known) :]

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


class JournalFileStorage(JournalStorage):
    """Optuna's journal storage over a `JournalFile`, which it keeps as `journal`."""

    def __init__(self, journal: JournalFile) -> None:
        self.journal = journal
        super().__init__(journal)


def open_journal(path: Path, *, read_only: bool = False) -> JournalFileStorage:
    """The journal's storage, replayed; a record Optuna cannot replay is a DamagedStudyError."""
    journal = JournalFile(path, read_only=read_only)
    try:
        return JournalFileStorage(journal)
    except (KeyError, ValueError, TypeError, AssertionError, AttributeError) as exc:
        line = journal.last_read if journal.last_read is not None else 0
        problem = f"Optuna cannot replay it ({type(exc).__name__}: {exc})"
        raise damaged(path, line, problem) from None

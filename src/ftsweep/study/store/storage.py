"""Where sweeps' studies live, and the lock that makes handing out trials safe across processes.

The embedded default is a journal file in Optuna's format in `.ftsweep/journal.log` beside the sweep
file: no server, and for this workload much faster than SQLite (README, "Storage"). `--storage`
or `FTSWEEP_STORAGE` selects another: a journal file path (`*.log`, `*.journal` or
`journal:PATH`), or any SQLAlchemy URL Optuna's RDB storage takes (`sqlite:///...`,
`postgresql+psycopg://...`), which is how workers on many machines share one sweep.

Commands that only read (`trials`, `best`) open a journal with `open(read_only=True)`: it creates
no directory or file, takes no lock and writes nothing, so it works on a read-only mount; ask
`exists()` first to tell a sweep that has no study yet from one that does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ftsweep.errors import StudyError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = ["ENV_VAR", "StorageLocation", "resolve_storage"]

ENV_VAR = "FTSWEEP_STORAGE"
DEFAULT_DIR = ".ftsweep"
DEFAULT_FILE = "journal.log"
_JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")


@dataclass(frozen=True)
class StorageLocation:
    """A storage: a journal file (`path`) or an RDB database (`url`)."""

    url: str
    path: Path | None = None  # set for journal files

    @property
    def kind(self) -> str:
        if self.path is not None:
            return "journal"
        return self.url.split(":", 1)[0].split("+", 1)[0]

    def open(self, *, read_only: bool = False) -> BaseStorage:
        """The Optuna storage object.

        A journal file is read and written through ftsweep's own backend (`journal.py`): appends
        all-or-nothing under a flock, every record checked (a damaged one is a DamagedStudyError).
        `read_only` opens it without creating, locking or writing anything (a write through it is
        a StudyError); a missing journal is a StudyError saying there is no study. A database
        opens as usual.
        """
        if self.path is None:
            return _rdb(self.url)
        return _journal(self.path, read_only=read_only)

    def exists(self) -> bool:
        """Whether the storage holds anything: its journal file or SQLite database exists.

        Other databases are taken to exist: asking would mean connecting. Anything at a journal's
        path counts, so that a directory there is reported as one rather than as no study.
        """
        if self.path is not None:
            return os.path.lexists(self.path)
        if self.kind != "sqlite":
            return True
        database = _sqlite_database(self.url)
        return database not in ("", ":memory:") and Path(database).is_file()

    @contextlib.contextmanager
    def lock(self, study: str) -> Iterator[None]:
        """Hold the study's allocation lock: one process at a time hands out its trials."""
        if self.path is not None:
            # Not `<journal>.lock`: that name is the journal's own lock file.
            with _file_lock(self.path.with_name(self.path.name + ".ftsweep-lock")):
                yield
        elif self.kind == "sqlite":
            database = _sqlite_database(self.url)
            if database in ("", ":memory:"):  # one process's private database: nothing to share
                yield
                return
            with _file_lock(Path(database + ".ftsweep-lock")):
                yield
        elif self.kind == "postgresql":
            with _advisory_lock(self.url, study):
                yield
        else:
            raise StudyError(
                f"{self.kind} storage has no lock ftsweep knows how to take; use a journal file, "
                "SQLite or PostgreSQL"
            )


def resolve_storage(sweep_file: str | Path, storage: str | None = None) -> StorageLocation:
    """The storage named by `storage`, else by $FTSWEEP_STORAGE, else the embedded default."""
    named = storage or os.environ.get(ENV_VAR) or ""
    if not named:
        directory = Path(sweep_file).resolve().parent / DEFAULT_DIR
        return _journal_location(directory / DEFAULT_FILE)
    if named.startswith("journal:"):
        return _journal_location(Path(named.removeprefix("journal:")))
    if "://" in named:
        return StorageLocation(named)
    if named.endswith(_JOURNAL_SUFFIXES):
        return _journal_location(Path(named))
    raise StudyError(
        f"storage {named!r} is neither a journal file (*.log, *.journal, journal:PATH) nor a "
        "database URL (sqlite:///PATH, postgresql+psycopg://USER@HOST/DB)"
    )


def _journal_location(path: Path) -> StorageLocation:
    path = path.expanduser().absolute()
    return StorageLocation(f"journal:{path}", path)


def _journal(path: Path, *, read_only: bool) -> BaseStorage:
    from ftsweep.study.store.journal import open_journal

    return open_journal(path, read_only=read_only)


def _sqlite_database(url: str) -> str:
    """The database file of a SQLite URL; "" or ":memory:" for a private in-memory one."""
    return url.split("///", 1)[1] if "///" in url else ""


#: Tries to open a database whose schema other processes may be making at the same moment.
_SCHEMA_TRIES = 6


def _rdb(url: str) -> BaseStorage:
    """Optuna's storage on a database. Processes that open a fresh database at once all make
    its tables; all but one then fail on a name the winner just took (PostgreSQL: a
    duplicate `pg_type` row), so that error is taken as "made by another" and the open tried
    again, when the tables exist and are left alone."""
    import time

    from optuna.storages import RDBStorage

    for attempt in range(_SCHEMA_TRIES):
        try:
            return RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except Exception as exc:  # SQLAlchemy's and drivers' errors have no common base
            if attempt + 1 < _SCHEMA_TRIES and _made_meanwhile(exc):
                time.sleep(0.1 * (attempt + 1))
                continue
            raise StudyError(f"storage {_redact(url)}: {exc}") from None
    raise AssertionError("unreachable")


def _made_meanwhile(exc: Exception) -> bool:
    """Whether opening failed because another process made the same schema object first."""
    text = str(exc)
    return type(exc).__name__ in ("IntegrityError", "ProgrammingError") and (
        "already exists" in text or "duplicate key" in text
    )


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    head, sep, tail = url.partition("://")
    if "@" not in tail:
        return url
    credentials, _, host = tail.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{head}{sep}{user}:***@{host}" if ":" in credentials else url


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    from ftsweep.study.store.journal_file import locked

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StudyError(f"storage lock {path}: {exc.strerror or exc}") from None
    with locked(path):
        yield


def _advisory_key(study: str) -> int:
    digest = hashlib.blake2b(f"ftsweep:{study}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def _advisory_lock(url: str, study: str) -> Iterator[None]:
    from sqlalchemy import create_engine, text

    key = _advisory_key(study)
    try:  # SQLAlchemy's and drivers' errors have no common base
        engine = create_engine(url, poolclass=_null_pool())
        connection = engine.connect()
    except Exception as exc:
        raise StudyError(f"storage {_redact(url)}: {exc}") from None
    try:
        with connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool

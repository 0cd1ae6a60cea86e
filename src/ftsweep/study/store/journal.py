"""ftsweep's journal file as Optuna's storage: `JournalStorage` over a `JournalFile`.

The file itself (framing, locking, the check of every record) is
`ftsweep.study.store.journal_file`; this module hands it to Optuna, which replays it, and
re-exports the journal's whole surface.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from ftsweep.study.store.journal_file import (  # re-exported, as the format's names below
    LOCK_SUFFIX,
    JournalFile,
    damaged,
    doctor_hint,
    locked,
    unusable,
)
from ftsweep.study.store.journal_format import (  # re-exported: the journal's whole surface
    APPEND,
    CREATE_STUDY,
    CREATE_TRIAL,
    DELETE_STUDY,
    DISCARD_TRIALS,
    SET_STUDY_SYSTEM_ATTR,
    SET_STUDY_USER_ATTR,
    SET_TRIAL_INTERMEDIATE_VALUE,
    SET_TRIAL_PARAM,
    SET_TRIAL_STATE_VALUES,
    SET_TRIAL_SYSTEM_ATTR,
    SET_TRIAL_USER_ATTR,
    Entry,
    check_record,
    encode,
    now,
    scan,
    state_record,
    trial_attr_record,
)

__all__ = [
    "APPEND",
    "REPLAY_ERRORS",
    "LOCK_SUFFIX",
    "CREATE_STUDY",
    "CREATE_TRIAL",
    "DELETE_STUDY",
    "DISCARD_TRIALS",
    "SET_STUDY_SYSTEM_ATTR",
    "SET_STUDY_USER_ATTR",
    "SET_TRIAL_INTERMEDIATE_VALUE",
    "SET_TRIAL_PARAM",
    "SET_TRIAL_STATE_VALUES",
    "SET_TRIAL_SYSTEM_ATTR",
    "SET_TRIAL_USER_ATTR",
    "Entry",
    "JournalFile",
    "JournalFileStorage",
    "damaged",
    "doctor_hint",
    "encode",
    "journal_storage",
    "locked",
    "now",
    "open_journal",
    "scan",
    "state_record",
    "unusable",
    "check_record",
    "trial_attr_record",
]


#: What Optuna's replay raises on a record it cannot replay (a choice's index past its choices is
#: an IndexError, an infinite one an OverflowError): the journal is damaged there.
REPLAY_ERRORS = (
    KeyError,
    ValueError,
    TypeError,
    AssertionError,
    AttributeError,
    IndexError,
    OverflowError,
)


class _Backend(BaseJournalBackend):
    """Optuna's handle on a `JournalFile`: its reads and appends are the file's."""

    def __init__(self, journal: JournalFile) -> None:
        self.journal = journal

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        return self.journal.read_logs(log_number_from)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.journal.append_logs(logs)


class JournalFileStorage(JournalStorage):
    """Optuna's journal storage over a `JournalFile`, which it keeps as `journal`."""

    def __init__(self, journal: JournalFile) -> None:
        self.journal = journal
        super().__init__(_Backend(journal))


def open_journal(path: Path, *, read_only: bool = False) -> JournalFileStorage:
    """The journal's storage, replayed; a record Optuna cannot replay is a DamagedStudyError."""
    return journal_storage(JournalFile(path, read_only=read_only))


def journal_storage(journal: JournalFile) -> JournalFileStorage:
    """Optuna's storage over `journal`, replayed (a record Optuna cannot replay is a
    DamagedStudyError); several readers of one file share its offsets and transaction."""
    try:
        return JournalFileStorage(journal)
    except REPLAY_ERRORS as exc:
        line = journal.last_read if journal.last_read is not None else 0
        problem = f"Optuna cannot replay it ({type(exc).__name__}: {exc})"
        raise damaged(journal.path, line, problem) from None

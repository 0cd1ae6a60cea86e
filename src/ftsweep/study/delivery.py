"""Whether a handed-out batch reached its reader, and reclaiming the trials of one that did not.

`SweepStudy.asking` creates a batch's trials *pending*: each record's `pending` marker names its
batch, the process that asked (host, pid), when, and the file the batch goes to. Once the batch
is written, one `Deliver` write says so for the whole batch. A process killed in between leaves
pending trials behind; the next `ask`, under the study's lock, reclaims those whose owner is
gone: it discards them, so they do not count against `max_trials` and their configurations can
be handed out again; unless their batch file holds them after all (killed after the file was
written but before the delivery was recorded): then they are delivered.

A process on this host is gone when its pid no longer exists; one on another host when its
batch has been pending longer than `LEASE` (handing out and writing a batch takes seconds).
A batch written to a stream (stdout) counts as delivered once writing starts: a reader may have
consumed part of it, so it is never reclaimed.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Set
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ftsweep.study.records import TrialRecord

__all__ = [
    "LEASE",
    "delivered_in_file",
    "is_orphaned",
    "is_stream",
    "owner_gone",
    "pending_marker",
]

LEASE = timedelta(hours=1)


def pending_marker(output: str | Path | None) -> dict[str, Any]:
    """The marker of a trial whose batch this process is about to write to `output`."""
    return {
        "batch": uuid.uuid4().hex,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "output": str(Path(output).absolute()) if output is not None else None,
    }


def is_stream(output: str | Path | None) -> bool:
    """Whether a batch goes to a stream (stdout, a device, a pipe) rather than a regular file."""
    if output is None:
        return True
    path = Path(output)
    return path.exists() and not path.is_file()


def is_orphaned(
    trial: TrialRecord, delivered: Set[str] = frozenset(), now: datetime | None = None
) -> bool:
    """Whether a trial is pending, its batch not delivered, and the process that asked is gone."""
    marker = trial.pending
    if marker is None or marker.get("batch") in delivered:
        return False
    since = datetime.fromisoformat(str(marker.get("since")))
    return owner_gone(str(marker.get("host")), int(marker.get("pid", 0)), since, now)


def owner_gone(host: str, pid: int, since: datetime, now: datetime | None = None) -> bool:
    """Whether the process `pid` on `host`, at work since `since`, is gone: on this host when
    the pid no longer exists, on another once `LEASE` has passed (its pid says nothing here).
    Pending batches and submit's claims on trials are both taken over by this rule."""
    if host == socket.gethostname():
        return not _alive(pid)
    return (now or datetime.now(UTC)) - since > LEASE


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def delivered_in_file(trials: Iterable[TrialRecord]) -> set[int]:
    """The numbers of orphaned trials whose batch file holds them (written, then killed)."""
    by_file: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        output = trial.pending.get("output") if trial.pending else None
        if output:
            by_file.setdefault(str(output), []).append(trial)
    found: set[int] = set()
    for output, group in by_file.items():
        text = _read(output)
        found |= {t.number for t in group if f'"{t.key}"' in text}
    return found


def _read(path: str) -> str:
    if not os.path.isfile(path):  # gone, or a device or pipe, which must not be read
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read()
    except OSError:  # gone, unreadable, a directory: it holds no batch
        return ""

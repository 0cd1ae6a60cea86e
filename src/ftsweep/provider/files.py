"""A sweep's training and validation files: local paths uploaded once, file ids kept as they are.

`training_file` and `validation_file` in a sweep file name either a file id on the service
(`file-abc123`) or a local JSONL file, relative to the sweep file. A value is a local file when a
file exists there; a value that looks like a path (a `/`, a `.json` or `.jsonl` ending) but
names no file is an error; anything else is a file id and stays one. `plan` and `ask` show the
value as written; `submit` uploads a local file once, waits until the service has processed it,
and remembers its id in the study by the sha256 of its content, so every later submit (on any
machine sharing the storage) reuses it while the content is unchanged.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ftsweep.api.job_object import DATA_FILES
from ftsweep.errors import RefusedError, ServiceError
from ftsweep.provider.backend import Backend, UploadedFile
from ftsweep.study.records import RememberFile
from ftsweep.study.sweep_study import SweepStudy

__all__ = ["upload_data_files", "with_files"]

PROCESSING_LIMIT = 3600.0  # seconds a file may take to be processed before submit gives up


def upload_data_files(
    study: SweepStudy,
    backend: Backend,
    *,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, str]:
    """The file id for each data field of the sweep that names a local file (uploading it,
    or reusing the id the study remembers for its content)."""
    ids: dict[str, str] = {}
    for field in DATA_FILES:
        path = study.sweep.data_file(field)
        if path is not None:
            ids[field] = _file_id(study, backend, path, sleep, say)
    return ids


def _file_id(
    study: SweepStudy,
    backend: Backend,
    path: Path,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with study.store.lock():  # creates the study when this is its first command
        known = study.store.load(write=True).files.get(digest)
    if known is not None:
        status = _status(backend, known)
        if status is not None and status.status != "error":
            return _processed(backend, path, status, sleep)
    say(f"uploading {path.name}")
    uploaded = backend.upload(path)
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply([RememberFile(digest, uploaded.id)])
    return _processed(backend, path, uploaded, sleep)


def _status(backend: Backend, file_id: str) -> UploadedFile | None:
    """The remembered file's status; None when the service no longer has it."""
    try:
        return backend.file(file_id)
    except RefusedError as error:
        if error.status == 404:
            return None
        raise


def _processed(
    backend: Backend, path: Path, file: UploadedFile, sleep: Callable[[float], None]
) -> str:
    """The file's id once the service has processed it; a file it rejects is an error."""
    waited, pause = 0.0, 0.05
    while file.status not in ("processed", "error"):
        if waited > PROCESSING_LIMIT:
            raise ServiceError(f"{path}: still {file.status} on the service after {waited:.0f} s")
        sleep(pause)
        waited += pause
        pause = min(pause * 2, 5.0)
        file = backend.file(file.id)
    if file.status == "error":
        why = f": {file.error}" if file.error else ""
        raise RefusedError(f"{path}: the service rejected the file ({file.id}){why}")
    return file.id


def with_files(body: Mapping[str, object], ids: Mapping[str, str]) -> dict[str, object]:
    """A job body with its local data files replaced by their ids."""
    return {**body, **ids}

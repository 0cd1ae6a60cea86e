"""A local job's folder, and what its files say: the trainer's status, whether its process
lives, how far it got, its metrics and results (`ftsweep.local.backend` keeps the layout).

A trainer that is gone without a last word is a failed job; one that was started but has not
written its pid yet is `queued` for START_GRACE seconds, then failed.
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "FINISHED",
    "JOB_PREFIX",
    "START_GRACE",
    "died",
    "is_job",
    "live_pid",
    "locked",
    "metric_lines",
    "named",
    "number",
    "occupying",
    "progress",
    "read_status",
    "result_rows",
    "state",
    "subfolders",
    "write_json",
    "write_status",
]

#: Seconds a started trainer may take to write its pid before it counts as never started.
START_GRACE = 120.0
FINISHED = ("succeeded", "failed", "cancelled")
JOB_PREFIX = "ftjob-local-"


def state(folder: Path, status: Mapping[str, Any]) -> str:
    """The job's status: the trainer's word, unless its process is gone without one."""
    said = status.get("status")
    if said in FINISHED:
        return str(said)
    if live_pid(folder) is not None:
        return str(said or "running")
    if (folder / "pid").exists():  # gone; it may have written its last word meanwhile
        last = read_status(folder).get("status")
        return str(last) if last in FINISHED else "failed"
    spawned = number((folder / "spawned").read_text()) if (folder / "spawned").exists() else None
    if spawned is not None and time.time() - spawned > START_GRACE:
        return "failed"
    return "queued"


def named(path: Path) -> str:
    """The name the user gave a kept data file (its copy's path when none is known)."""
    try:
        return path.with_suffix(".name").read_text().strip() or str(path)
    except OSError:
        return str(path)


def occupying(folder: Path) -> bool:
    """Whether the job holds a trainer's slot: started and not finished, its process alive or
    still starting."""
    if not (folder / "spawned").exists() or read_status(folder).get("status") in FINISHED:
        return False
    if live_pid(folder) is not None:
        return True
    spawned = number((folder / "spawned").read_text())
    return not (folder / "pid").exists() and time.time() - (spawned or 0) < START_GRACE


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def live_pid(folder: Path) -> int | None:
    """The trainer's pid while its process lives (and is this job's trainer, not a pid used
    again by another process); None otherwise."""
    try:
        pid = int((folder / "pid").read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X") or str(folder).encode() not in command:
        return None
    return pid


def died(folder: Path) -> str:
    """Why a trainer ended without a word, as far as its log says."""
    tail = ""
    with contextlib.suppress(OSError):
        lines = (folder / "runner.log").read_text(errors="replace").strip().splitlines()
        tail = lines[-1] if lines else ""
    if not (folder / "pid").exists():
        return f"the trainer never started{f' ({tail})' if tail else ''}; see {folder}/runner.log"
    said = f": {tail}" if tail else ""
    return f"the trainer ended without a result (killed, or out of memory){said}"


def read_status(folder: Path) -> dict[str, Any]:
    try:
        data = orjson.loads((folder / "status.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_status(folder: Path, status: Mapping[str, Any]) -> None:
    write_json(folder / "status.json", {**status, "finished_at": int(time.time())})


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    os.replace(temporary, path)


def progress(folder: Path, status: Mapping[str, Any]) -> dict[str, Any]:
    """How far a running trainer has got: its last step, its steps in all, and the latest value
    of each metric it logged (for `sync --wait` and `run`'s view)."""
    step, latest = 0, {}
    for row in metric_lines(folder / "metrics.jsonl"):
        if isinstance(row.get("step"), int):
            step = max(step, row["step"])
        latest.update({k: v for k, v in row.items() if k not in ("step", "total_steps")})
    return {"step": step or None, "total_steps": status.get("total_steps"), "latest": latest}


def metric_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The trainer's metric lines; a line cut short by a crash is skipped."""
    try:
        text = path.read_bytes()
    except OSError:
        return
    for line in text.splitlines():
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(row, dict):
            yield row


def result_rows(path: Path) -> Iterator[dict[str, object]]:
    try:
        text = path.read_text()
    except OSError:
        return
    for row in csv.DictReader(text.splitlines()):
        step = number(row.get("step") or "")
        if step is None:
            continue
        cells = {k: number(v) for k, v in row.items() if k and k != "step"}
        yield {"step": int(step), **cells}


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def is_job(folder: Path) -> bool:
    return folder.name.startswith(JOB_PREFIX) and (folder / "job.json").is_file()


def subfolders(folder: Path) -> list[Path]:
    try:
        return [f for f in folder.iterdir() if f.is_dir()]
    except OSError:
        return []

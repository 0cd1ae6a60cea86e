"""One local trial: `python -m ftsweep.local.runner OUT/job.json OUT/` trains the job body with TRL.

The backend writes `OUT/job.json` (`{"body": <job request body>, "local": <settings>}`) and
starts this program in a new session with stdout and stderr in `OUT/runner.log`. In `OUT/`:

1. `lock`: an exclusive `flock`, taken at once without waiting and held until the process ends;
   if another runner holds it, or one ran here before (a `pid` file), or the job was cancelled
   before it started (a `cancel` file), the program exits 3 and touches nothing: a trial is
   trained once. `pid` holds its pid.
2. `status.json`, rewritten atomically at each change: `status` (running, succeeded, failed,
   cancelled), `error` (`{"code", "message"}` or null), `resolved` (OpenAI names, values used),
   `trl` (the TRL config values used), `trained_tokens`, `total_steps`, `started_at`,
   `finished_at` (unix seconds).
3. `metrics.jsonl`: one OpenAI-named record per training log and per evaluation, appended as
   training goes (names: `ftsweep.local.metrics`).
4. `result.csv`: one row per step, written atomically at the end (also when cancelled).

`trained_tokens` (supervised, DPO) is counted from the tokenized batches actually trained:
transformers' `num_input_tokens_seen` with `include_num_input_tokens_seen="non_padding"`, so
every epoch and prompt tokens count (DPO: prompt with each of chosen and rejected), as the
service bills; padding does not. Reinforcement is billed by the hour: null.

SIGTERM or SIGINT cancels: before training at once, during training at the end of the current
step (a second signal stops at once); status `cancelled`, exit 0. Any exception, out of memory
included: status `failed` with `"<Type>: <first line>"`, the traceback in runner.log, exit 1.
Exit 2: bad command line. Settings in `local` beyond the contract, all optional:
`max_device_batch` (8), `max_length` (SFT/DPO token cap, TRL's default 1024),
`max_completion_length` (GRPO, TRL's default), `allow_download` (false: hub names load only
from the local cache).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from ftsweep.local import data, mapping

__all__ = ["EXIT_FAILED", "EXIT_LOCKED", "Cancelled", "StatusFile", "main"]

_STARTED = time.monotonic()
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3


class Cancelled(Exception):
    """The backend asked this trial to stop (SIGTERM)."""


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and `os.replace`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def log_phase(text: str) -> None:
    """A line in runner.log: what is done, seconds since this module was imported."""
    print(
        f"ftsweep.local: {text} at +{time.monotonic() - _STARTED:.2f}s", file=sys.stderr, flush=True
    )


class StatusFile:
    """`status.json`, rewritten whole at each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = {
            "status": "running",
            "error": None,
            "resolved": {},
            "trl": {},
            "trained_tokens": None,
            "total_steps": None,
            "started_at": int(time.time()),
            "finished_at": None,
        }
        self.write()

    def write(self, **changes: Any) -> None:
        self.state.update(changes)
        atomic_write(self.path, json.dumps(self.state, indent=1, default=str) + "\n")

    def finish(self, status: str, error: dict[str, str] | None = None) -> None:
        self.write(status=status, error=error, finished_at=int(time.time()))


class Stop:
    """What a cancel signal does: raise at once outside training, else ask the loop to stop."""

    def __init__(self) -> None:
        self.requested = False
        self.training = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        already, self.requested = self.requested, True
        if already or not self.training:
            raise Cancelled(f"stopped by signal {signum}")

    def check(self) -> None:
        if self.requested:
            raise Cancelled("stopped by signal")


def _lock(out: Path) -> IO[str] | None:
    handle = open(out / "lock", "a")  # noqa: SIM115 - held open until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _error(error: BaseException) -> dict[str, str]:
    name = type(error).__name__
    lines = str(error).strip().splitlines()
    first = f"{name}: {lines[0] if lines else ''}"
    if isinstance(getattr(error, "code", None), str):  # our own errors name their code
        code, message = error.code, str(error)  # type: ignore[attr-defined]
    elif isinstance(error, data.DataError):
        code, message = "invalid_file", str(error)
    elif isinstance(error, mapping.MappingError):
        code, message = "invalid_hyperparameters", str(error)
    elif isinstance(error, MemoryError) or "OutOfMemory" in name:
        code, message = "out_of_memory", first
    else:
        code, message = "training_error", first
    return {"code": code, "message": message}


def run(job_path: Path, out: Path, status: StatusFile, stop: Stop) -> str:
    """Train the trial described by `job_path` into `out`; the final status."""
    from ftsweep.local import training

    job = json.loads(job_path.read_text(encoding="utf-8"))
    body, local = job["body"], job["local"]
    method = (body.get("method") or {}).get("type")
    if method not in mapping.METHODS:
        raise mapping.MappingError(f"method.type must be one of {mapping.METHODS}, got {method!r}")
    train_rows = _rows(method, local["training_file"], local)
    valid_file = local.get("validation_file")
    valid_rows = _rows(method, valid_file, local) if valid_file else None
    plan = mapping.plan_trial(body, local, len(train_rows), len(valid_rows or []) or None)
    status.write(resolved=plan.resolved, trl=plan.trl, total_steps=plan.planned_steps)
    log_phase(f"{len(train_rows)} training rows read and planned")
    stop.check()
    return training.train(plan, body, local, train_rows, valid_rows, out, status, stop)


def _rows(method: str, path: str, local: dict[str, Any]) -> list[data.Row]:
    """The file's rows for TRL; a bad row's message names the file as the user named it, not
    the backend's copy of it (`local.names`)."""
    try:
        return data.convert(method, path)
    except data.DataError as error:
        shown = (local.get("names") or {}).get(path)
        if not shown:
            raise
        raise data.DataError(str(error).replace(path, shown)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m ftsweep.local.runner OUT/job.json OUT/", file=sys.stderr)
        return EXIT_USAGE
    job_path, out = Path(args[0]), Path(args[1])
    lock = _lock(out)
    if lock is None:
        print(f"another runner holds {out / 'lock'}", file=sys.stderr)
        return EXIT_LOCKED
    with lock:
        if (out / "pid").exists() or (out / "cancel").exists():
            # A trial is trained once: a runner before this one started it (and may have died),
            # or the job was cancelled before its trainer got going.
            print(f"{out}: already started or cancelled; nothing to do", file=sys.stderr)
            return EXIT_LOCKED
        atomic_write(out / "pid", f"{os.getpid()}\n")
        status = StatusFile(out / "status.json")
        stop = Stop()
        signal.signal(signal.SIGTERM, stop.handle)
        signal.signal(signal.SIGINT, stop.handle)
        return _guarded(job_path, out, status, stop)


def _guarded(job_path: Path, out: Path, status: StatusFile, stop: Stop) -> int:
    try:
        final = run(job_path, out, status, stop)
    except Cancelled:
        _ignore_signals()
        status.finish("cancelled")
        return 0
    except BaseException as error:  # noqa: BLE001 - nothing may leave status "running"
        _ignore_signals()
        traceback.print_exc()
        status.finish("failed", _error(error))
        return EXIT_FAILED
    _ignore_signals()
    status.finish(final)
    return 0


def _ignore_signals() -> None:
    """Once the outcome is known, a late cancel must not interrupt writing it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    _code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written, fsynced and closed: skip the interpreter's teardown, which takes
    # torch about two seconds on a 2-core machine.
    os._exit(_code)

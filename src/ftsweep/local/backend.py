"""The local backend: each trial trained on this machine by its own process, with Hugging Face TRL.

It implements `ftsweep.provider.backend.Backend`, so `submit`, `sync`, `cancel` and `run` drive
it as they drive OpenAI. Everything it knows lives in files under its root (`service.output_dir`,
by default `.ftsweep/local` beside the sweep file):

    files/<sha256>.jsonl          a data file as it was "uploaded": trials train on this copy
    jobs/<sweep>/<job id>/        one trial's job:
        job.json                  the job body and the local settings (`ftsweep.local.runner`)
        spawned                   written just before its trainer is started
        pid, lock                 the trainer's process id; the lock it holds while it lives
        status.json               its status as the trainer writes it
        metrics.jsonl             what it logs, a line at a time, in the service's metric names
        result.csv                the per-step result file, once it has finished
        runner.log                its stdout and stderr

A job is created in a folder of a temporary name and renamed into place whole, so a job that
exists is complete; its trainer (`python -m ftsweep.local.runner`) starts in a session of its
own, so it outlives the ftsweep command that started it: a `kill -9` of that command leaves it
training, and the next `sync` or `run` finds it by its folder. A trainer that died without a
word (killed, out of memory) is a failed job: its folder has a pid whose process is gone and a
status that never finished. A job whose folder exists but whose trainer was never started (the
command died in between) is started by whichever command finds it first; the trainer's lock
makes sure that only one process ever trains it, so a trial is never trained twice.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from ftsweep.api.job_object import DATA_FILES, JobObject
from ftsweep.errors import MissingExtraError, RefusedError
from ftsweep.provider.backend import TrialJob, UploadedFile
from ftsweep.sweep.spec import Service

__all__ = ["NEEDS", "LocalBackend", "local_root", "missing_packages"]

#: Seconds a started trainer may take to write its pid before it counts as never started.
START_GRACE = 120.0
#: Seconds a cancelled trainer gets to stop by itself before it is killed.
CANCEL_GRACE = 15.0
_FINISHED = ("succeeded", "failed", "cancelled")
_FILE_PREFIX = "file-local-"
_JOB_PREFIX = "ftjob-local-"


#: What the trainer imports: the `local` extra (`pip install 'ftsweep[local]'`).
NEEDS = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")


def this_host() -> str:
    """The name this machine's jobs carry (`...@host`): FTSWEEP_LOCAL_HOST, else the hostname.
    Machines that share a sweep's storage must have different names."""
    name = os.environ.get("FTSWEEP_LOCAL_HOST") or socket.gethostname() or "localhost"
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)


def missing_packages() -> list[str]:
    """The packages of the `local` extra this interpreter lacks (found, not imported: quick)."""
    import importlib.util

    missing = []
    for name in NEEDS:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # blocked, or a module without a spec
            found = False
        if not found:
            missing.append(name)
    return missing


def local_root(service: Service, base: Path) -> Path:
    """The backend's folder: `service.output_dir` relative to the sweep file's folder."""
    return base / (service.output_dir or ".ftsweep/local")


class LocalBackend:
    """Trials trained by subprocesses on this machine; see the module docstring."""

    dialect = "local"
    keeps_metadata = True

    def __init__(self, service: Service, base: Path, method: str | None = None) -> None:
        self.service = service
        self.base = base
        self.method = method
        self.root = local_root(service, base)
        self.python = service.python or sys.executable
        self.host = this_host()
        self._children: list[subprocess.Popen[bytes]] = []
        missing = missing_packages() if self.python == sys.executable else []
        if missing:
            raise MissingExtraError(
                f"the local backend trains with Hugging Face TRL, and this Python lacks "
                f"{', '.join(missing)}: pip install 'ftsweep[local]' (or set service.python to "
                "an interpreter that has it)"
            )

    # -- Backend ---------------------------------------------------------------------------

    def close(self) -> None:
        """Reap the trainers that finished; running ones go on by themselves."""
        self._reap()

    def describe(self) -> str:
        return f"local trainer in {self.root}"

    def upload(self, path: Path) -> UploadedFile:
        """Keep a copy of the file by its content, so that trials train on what was submitted
        even when the file changes later. A file whose rows the sweep's method cannot train on
        is rejected, as a service rejects it, before any trial is started."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if self.method is not None:
            from ftsweep.local.data import DataError, convert

            try:
                convert(self.method, path)
            except DataError as error:
                return UploadedFile(f"{_FILE_PREFIX}{digest}", "error", str(error))
        target = self._files() / f"{digest}{path.suffix or '.jsonl'}"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)
        # The file as the user named it, for the trainer's messages about its rows.
        (target.parent / f"{digest}.name").write_text(str(path.resolve()))
        return UploadedFile(f"{_FILE_PREFIX}{digest}", "processed")

    def file(self, file_id: str) -> UploadedFile:
        if self._data_path(file_id) is None:
            raise RefusedError(f"no local file {file_id} in {self._files()}", status=404)
        return UploadedFile(file_id, "processed")

    def create(self, body: Mapping[str, Any]) -> JobObject:
        """Write the job's folder whole, then start its trainer."""
        metadata = body.get("metadata") or {}
        sweep = str(metadata.get("ftsweep_sweep") or "_")
        key = str(metadata.get("ftsweep_trial") or "job")
        job_id = f"{_JOB_PREFIX}{key}-{secrets.token_hex(4)}@{self.host}"
        folder = self._sweep_dir(sweep) / job_id
        spec = {
            "id": job_id,
            "created_at": int(time.time()),
            "host": self.host,
            "body": dict(body),
            "local": self._settings(body),
        }
        temporary = folder.with_name(f".{job_id}.tmp")
        temporary.mkdir(parents=True)
        _write(temporary / "job.json", spec)
        os.replace(temporary, folder)
        return self._job(folder)  # which starts it, when fewer than `parallel` are training

    def find(self, sweep: str, trial: TrialJob) -> JobObject | None:
        for job in self.jobs(sweep, trial.since):
            if job.key == trial.key:
                return job
        return None

    def jobs(self, sweep: str, since: int | None) -> Iterator[JobObject]:
        """The sweep's jobs on this machine, newest first."""
        folders = [f for f in _dirs(self._sweep_dir(sweep)) if _is_job(f) and self.holds(f.name)]
        found = [self._job(f) for f in folders]
        found = [j for j in found if since is None or (j.created_at or 0) >= since]
        yield from sorted(found, key=lambda j: j.created_at or 0, reverse=True)

    def job(self, job_id: str) -> JobObject:
        """The job as its files say; a job another machine trains is `running` here until that
        machine's own sync records how it ended in the shared storage."""
        if not self.holds(job_id):
            return JobObject(id=job_id, model="", status="running", metadata=None)
        return self._job(self._folder(job_id))

    def holds(self, job_id: str) -> bool:
        return job_id.rpartition("@")[2] == self.host

    def steps(self, job: JobObject, metrics: Sequence[str]) -> list[dict[str, object]]:
        """The job's rows by step: what its trainer logged, with its result file over it (none
        for a job another machine trains: its own sync reads them)."""
        if not self.holds(job.id):
            return []
        folder = self._folder(job.id)
        rows: dict[int, dict[str, object]] = {}
        for row in _metric_lines(folder / "metrics.jsonl"):
            step = row.get("step")
            if isinstance(step, int):
                rows.setdefault(step, {"step": step}).update(row)
        for row in _result_rows(folder / "result.csv"):
            step = row["step"]
            assert isinstance(step, int)
            merged = rows.setdefault(step, {"step": step})
            merged.update({k: v for k, v in row.items() if v is not None})
        return [rows[s] for s in sorted(rows)]

    def cancel(self, job_id: str) -> JobObject:
        """Stop the job's trainer: SIGTERM to its process group, SIGKILL after CANCEL_GRACE."""
        if not self.holds(job_id):
            host = job_id.rpartition("@")[2]
            raise RefusedError(f"job {job_id} trains on {host}: cancel it there", status=409)
        folder = self._folder(job_id)
        job = self._job(folder)
        if job.finished is not None:
            raise RefusedError(f"job {job_id} is already {job.status}", status=400)
        (folder / "cancel").touch()
        pid = _live_pid(folder)
        if pid is not None:
            _stop(pid, folder)
        if _status(folder).get("status") not in _FINISHED:
            _write_status(folder, {**_status(folder), "status": "cancelled"})
        return self._job(folder)

    def _settings(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """What the trainer needs beside the body: where the model and data are, and what the
        service would decide for itself (`service:`'s local settings)."""
        service = self.service
        model = str(body.get("model", ""))
        folder = self.base / model
        data = {f: self._data_path(str(body[f])) for f in DATA_FILES if body.get(f)}
        missing = [str(body[f]) for f, path in data.items() if path is None]
        if missing:
            raise RefusedError(f"no local data file {missing[0]} in {self._files()}", status=400)
        return {
            "model": str(folder.resolve()) if folder.is_dir() else model,
            **{f: str(path) for f, path in data.items()},
            "names": {str(path): _named(path) for path in data.values() if path is not None},
            "base_learning_rate": service.base_learning_rate.model_dump(),
            "max_steps": service.max_steps,
            "lora": service.lora.model_dump() if service.lora is not None else None,
            "judge": service.judge.model_dump() if service.judge is not None else None,
            "allow_python_grader": service.allow_python_grader,
            "allow_download": service.allow_download,
        }

    def _device(self) -> int | str | None:
        """The device the fewest live trainers use (None: the trainer's own choice, a GPU when
        there is one)."""
        devices = self.service.devices
        if not devices:
            return None
        busy = {d: 0 for d in devices}
        for folder in self._job_folders():
            if _occupying(folder):
                with contextlib.suppress(OSError, orjson.JSONDecodeError, KeyError):
                    used = orjson.loads((folder / "device.json").read_bytes())["device"]
                    busy[used] = busy.get(used, 0) + 1
        return min(devices, key=lambda d: busy[d])

    # -- the files -------------------------------------------------------------------------

    def _files(self) -> Path:
        return self.root / "files"

    def _sweep_dir(self, sweep: str) -> Path:
        return self.root / "jobs" / sweep

    def _data_path(self, file_id: str) -> Path | None:
        """The local copy a file id names; None when there is none."""
        if not file_id.startswith(_FILE_PREFIX):
            return None
        digest = file_id.removeprefix(_FILE_PREFIX)
        if not digest.isalnum():
            return None
        with contextlib.suppress(FileNotFoundError):
            for path in self._files().iterdir():
                if path.stem == digest and path.suffix != ".name":
                    return path
        return None

    def _folder(self, job_id: str) -> Path:
        if job_id.startswith(_JOB_PREFIX) and "/" not in job_id:
            for sweep in _dirs(self.root / "jobs"):
                folder = sweep / job_id
                if _is_job(folder):
                    return folder
        raise RefusedError(f"no local job {job_id} in {self.root / 'jobs'}", status=404)

    # -- the trainers ----------------------------------------------------------------------

    def _start_when_free(self, folder: Path, spec: Mapping[str, Any]) -> None:
        """Start the job's trainer unless `service.parallel` trainers are at work (it waits,
        queued, for a later look); one process decides at a time (a lock under the root)."""
        with _locked(self.root / "start.lock"):
            if (folder / "spawned").exists() or (folder / "cancel").exists():
                return
            busy = sum(1 for f in self._job_folders() if _occupying(f))
            if busy < self.service.parallel:
                self._start(folder, spec)

    def _job_folders(self) -> Iterator[Path]:
        """This machine's job folders, of every sweep."""
        for sweep in _dirs(self.root / "jobs"):
            yield from (f for f in _dirs(sweep) if _is_job(f) and self.holds(f.name))

    def _start(self, folder: Path, spec: Mapping[str, Any]) -> None:
        """Start the job's trainer in a session of its own (it outlives this process)."""
        device = self._device()
        _write(folder / "device.json", {"device": device})
        # The trainer sees its one GPU as `cuda` (CUDA_VISIBLE_DEVICES names it); `auto`: a GPU
        # when there is one, else the CPU.
        seen = "auto" if device is None else "cpu" if device == "cpu" else "cuda"
        local = {**spec["local"], "device": seen}
        _write(folder / "job.json", {**spec, "local": local})
        (folder / "spawned").write_text(f"{time.time():.3f}\n")
        env = _environment(local, self.service.parallel)
        with open(folder / "runner.log", "ab") as log:
            child = subprocess.Popen(
                [self.python, "-m", "ftsweep.local.runner", str(folder / "job.json"), str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        self._children.append(child)

    def _reap(self) -> None:
        self._children = [c for c in self._children if c.poll() is None]

    def _job(self, folder: Path) -> JobObject:
        """The job object as the service would answer it, from the job's files."""
        self._reap()
        spec = orjson.loads((folder / "job.json").read_bytes())
        if not (folder / "spawned").exists():  # queued, or its command died before it started
            self._start_when_free(folder, spec)
        body = spec["body"]
        status = _status(folder)
        state = _state(folder, status)
        method = dict(body.get("method") or {"type": "supervised"})
        kind = method.get("type", "supervised")
        config = dict(method.get(kind) or {})
        resolved = status.get("resolved")
        if resolved:
            config["hyperparameters"] = {**(config.get("hyperparameters") or {}), **resolved}
        method[kind] = config
        error = status.get("error") if state == "failed" else None
        if state == "failed" and error is None:
            error = {"code": "trainer_died", "message": _died(folder)}
        done = state in _FINISHED
        return JobObject.model_validate(
            {
                "id": spec["id"],
                "model": body.get("model", ""),
                "status": state,
                "created_at": spec["created_at"],
                "finished_at": status.get("finished_at") or (int(time.time()) if done else None),
                "fine_tuned_model": str(folder / "model") if state == "succeeded" else None,
                "error": error,
                "trained_tokens": status.get("trained_tokens") if state == "succeeded" else None,
                "hyperparameters": config.get("hyperparameters") if kind == "supervised" else None,
                "method": method,
                "metadata": body.get("metadata"),
                "seed": body.get("seed"),
                "training_file": body.get("training_file"),
                "validation_file": body.get("validation_file"),
                "result_files": ["result.csv"] if (folder / "result.csv").exists() else [],
                "user_provided_suffix": body.get("suffix"),
                "local": {
                    "folder": str(folder),
                    "host": spec.get("host"),
                    "trl": status.get("trl"),
                },
                "progress": _progress(folder, status) if not done else None,
            }
        )


def _environment(local: Mapping[str, Any], parallel: int) -> dict[str, str]:
    """The trainer's environment: offline unless the user's own environment says otherwise, one
    device (CUDA_VISIBLE_DEVICES), and CPU threads shared between the trials that run at once."""
    env = dict(os.environ)
    if not local.get("allow_download"):
        env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    device = local.get("device")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    elif isinstance(device, int):
        env["CUDA_VISIBLE_DEVICES"] = str(device)
    if "OMP_NUM_THREADS" not in env and device in ("cpu", None):
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, parallel)))
    return env


def _state(folder: Path, status: Mapping[str, Any]) -> str:
    """The job's status: the trainer's word, unless its process is gone without one."""
    said = status.get("status")
    if said in _FINISHED:
        return str(said)
    if _live_pid(folder) is not None:
        return str(said or "running")
    if (folder / "pid").exists():  # gone; it may have written its last word meanwhile
        last = _status(folder).get("status")
        return str(last) if last in _FINISHED else "failed"
    spawned = _number((folder / "spawned").read_text()) if (folder / "spawned").exists() else None
    if spawned is not None and time.time() - spawned > START_GRACE:
        return "failed"
    return "queued"


def _named(path: Path) -> str:
    """The name the user gave a kept data file (its copy's path when none is known)."""
    try:
        return path.with_suffix(".name").read_text().strip() or str(path)
    except OSError:
        return str(path)


def _occupying(folder: Path) -> bool:
    """Whether the job holds a trainer's slot: started and not finished, its process alive or
    still starting."""
    if not (folder / "spawned").exists() or _status(folder).get("status") in _FINISHED:
        return False
    if _live_pid(folder) is not None:
        return True
    spawned = _number((folder / "spawned").read_text())
    return not (folder / "pid").exists() and time.time() - (spawned or 0) < START_GRACE


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _live_pid(folder: Path) -> int | None:
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


def _stop(pid: int, folder: Path) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + CANCEL_GRACE
    while time.monotonic() < deadline and _live_pid(folder) is not None:
        time.sleep(0.05)
    if _live_pid(folder) is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        while _live_pid(folder) is not None and time.monotonic() < deadline + 5:
            time.sleep(0.05)


def _died(folder: Path) -> str:
    """Why a trainer ended without a word, as far as its log says."""
    tail = ""
    with contextlib.suppress(OSError):
        lines = (folder / "runner.log").read_text(errors="replace").strip().splitlines()
        tail = lines[-1] if lines else ""
    if not (folder / "pid").exists():
        return f"the trainer never started{f' ({tail})' if tail else ''}; see {folder}/runner.log"
    said = f": {tail}" if tail else ""
    return f"the trainer ended without a result (killed, or out of memory){said}"


def _status(folder: Path) -> dict[str, Any]:
    try:
        data = orjson.loads((folder / "status.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_status(folder: Path, status: Mapping[str, Any]) -> None:
    _write(folder / "status.json", {**status, "finished_at": int(time.time())})


def _write(path: Path, data: Mapping[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    os.replace(temporary, path)


def _progress(folder: Path, status: Mapping[str, Any]) -> dict[str, Any]:
    """How far a running trainer has got: its last step, its steps in all, and the latest value
    of each metric it logged (for `sync --wait` and `run`'s view)."""
    step, latest = 0, {}
    for row in _metric_lines(folder / "metrics.jsonl"):
        if isinstance(row.get("step"), int):
            step = max(step, row["step"])
        latest.update({k: v for k, v in row.items() if k not in ("step", "total_steps")})
    return {"step": step or None, "total_steps": status.get("total_steps"), "latest": latest}


def _metric_lines(path: Path) -> Iterator[dict[str, Any]]:
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


def _result_rows(path: Path) -> Iterator[dict[str, object]]:
    try:
        text = path.read_text()
    except OSError:
        return
    for row in csv.DictReader(text.splitlines()):
        step = _number(row.get("step") or "")
        if step is None:
            continue
        cells = {k: _number(v) for k, v in row.items() if k and k != "step"}
        yield {"step": int(step), **cells}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_job(folder: Path) -> bool:
    return folder.name.startswith(_JOB_PREFIX) and (folder / "job.json").is_file()


def _dirs(folder: Path) -> list[Path]:
    try:
        return [f for f in folder.iterdir() if f.is_dir()]
    except OSError:
        return []

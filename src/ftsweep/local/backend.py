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
from ftsweep.local import folders
from ftsweep.provider.backend import TrialJob, UploadedFile
from ftsweep.sweep.spec import Service

__all__ = ["NEEDS", "LocalBackend", "local_root", "missing_packages"]

#: Seconds a cancelled trainer gets to stop by itself before it is killed.
CANCEL_GRACE = 15.0
_FILE_PREFIX = "file-local-"


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
        job_id = f"{folders.JOB_PREFIX}{key}-{secrets.token_hex(4)}@{self.host}"
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
        folders.write_json(temporary / "job.json", spec)
        os.replace(temporary, folder)
        return self._job(folder)  # which starts it, when fewer than `parallel` are training

    def find(self, sweep: str, trial: TrialJob) -> JobObject | None:
        for job in self.jobs(sweep, trial.since):
            if job.key == trial.key:
                return job
        return None

    def jobs(self, sweep: str, since: int | None) -> Iterator[JobObject]:
        """The sweep's jobs on this machine, newest first."""
        mine = [
            f
            for f in folders.subfolders(self._sweep_dir(sweep))
            if folders.is_job(f) and self.holds(f.name)
        ]
        found = [self._job(f) for f in mine]
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
        for row in folders.metric_lines(folder / "metrics.jsonl"):
            step = row.get("step")
            if isinstance(step, int):
                rows.setdefault(step, {"step": step}).update(row)
        for row in folders.result_rows(folder / "result.csv"):
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
        pid = folders.live_pid(folder)
        if pid is not None:
            _stop(pid, folder)
        if folders.read_status(folder).get("status") not in folders.FINISHED:
            folders.write_status(folder, {**folders.read_status(folder), "status": "cancelled"})
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
            "names": {str(path): folders.named(path) for path in data.values() if path is not None},
            "base_learning_rate": service.base_learning_rate.model_dump(),
            "max_steps": service.max_steps,
            "lora": service.lora.model_dump() if service.lora is not None else None,
            "judge": service.judge.model_dump() if service.judge is not None else None,
            "allow_python_grader": service.allow_python_grader,
            "allow_download": service.allow_download,
            "dtype": service.dtype,
        }

    def _device(self) -> int | str | None:
        """The device the fewest live trainers use (None: the trainer's own choice, a GPU when
        there is one)."""
        devices = self.service.devices
        if not devices:
            return None
        busy = {d: 0 for d in devices}
        for folder in self._job_folders():
            if folders.occupying(folder):
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
        if job_id.startswith(folders.JOB_PREFIX) and "/" not in job_id:
            for sweep in folders.subfolders(self.root / "jobs"):
                folder = sweep / job_id
                if folders.is_job(folder):
                    return folder
        raise RefusedError(f"no local job {job_id} in {self.root / 'jobs'}", status=404)

    # -- the trainers ----------------------------------------------------------------------

    def _start_when_free(self, folder: Path, spec: Mapping[str, Any]) -> None:
        """Start the job's trainer unless `service.parallel` trainers are at work (it waits,
        queued, for a later look); one process decides at a time (a lock under the root)."""
        with folders.locked(self.root / "start.lock"):
            if (folder / "spawned").exists() or (folder / "cancel").exists():
                return
            busy = sum(1 for f in self._job_folders() if folders.occupying(f))
            if busy < self.service.parallel:
                self._start(folder, spec)

    def _job_folders(self) -> Iterator[Path]:
        """This machine's job folders, of every sweep."""
        for sweep in folders.subfolders(self.root / "jobs"):
            yield from (
                f for f in folders.subfolders(sweep) if folders.is_job(f) and self.holds(f.name)
            )

    def _start(self, folder: Path, spec: Mapping[str, Any]) -> None:
        """Start the job's trainer in a session of its own (it outlives this process)."""
        device = self._device()
        folders.write_json(folder / "device.json", {"device": device})
        # The trainer sees its one GPU as `cuda` (CUDA_VISIBLE_DEVICES names it); `auto`: a GPU
        # when there is one, else the CPU.
        seen = "auto" if device is None else "cpu" if device == "cpu" else "cuda"
        local = {**spec["local"], "device": seen}
        folders.write_json(folder / "job.json", {**spec, "local": local})
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
        status = folders.read_status(folder)
        state = folders.state(folder, status)
        method = dict(body.get("method") or {"type": "supervised"})
        kind = method.get("type", "supervised")
        config = dict(method.get(kind) or {})
        resolved = status.get("resolved")
        if resolved:
            config["hyperparameters"] = {**(config.get("hyperparameters") or {}), **resolved}
        method[kind] = config
        error = status.get("error") if state == "failed" else None
        if state == "failed" and error is None:
            error = {"code": "trainer_died", "message": folders.died(folder)}
        done = state in folders.FINISHED
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
                "progress": folders.progress(folder, status) if not done else None,
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


def _stop(pid: int, folder: Path) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + CANCEL_GRACE
    while time.monotonic() < deadline and folders.live_pid(folder) is not None:
        time.sleep(0.05)
    if folders.live_pid(folder) is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        while folders.live_pid(folder) is not None and time.monotonic() < deadline + 5:
            time.sleep(0.05)

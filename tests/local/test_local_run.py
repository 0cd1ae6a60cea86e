"""Whole sweeps on the local backend, through the CLI: `ftsweep run` trains every trial with TRL
in a process of its own (a tiny model built in the test, on the CPU, offline).

These train for real: each trial is a process that imports torch, transformers and TRL (a few
seconds) and trains a few steps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.local.conftest import DATA, trainer_env

pytestmark = pytest.mark.local


def sweep_file(
    folder: Path,
    model: Path,
    *,
    method: str = "supervised",
    trials: int = 2,
    space: str = "learning_rate_multiplier: {low: 1.0, high: 100.0, log: true}\n",
    service: str = "",
    extra: str = "",
    name: str = "tiny",
) -> Path:
    data = {"supervised": "support", "dpo": "dpo", "reinforcement": "rft"}[method]
    text = (
        f"name: {name}\nmethod: {method}\nmodel: {model}\n"
        f"training_file: {DATA / f'{data}-train.jsonl'}\n"
        f"validation_file: {DATA / f'{data}-valid.jsonl'}\n"
        f"strategy: random\nmax_trials: {trials}\nseed: 1\n"
        "space:\n"
        + "".join(f"  {line}\n" for line in space.strip().splitlines())
        + "objective: {metric: "
        + (
            "valid_reward_mean, direction: maximize"
            if method == "reinforcement"
            else "full_valid_loss"
        )
        + "}\n"
        + "service:\n  provider: local\n  poll_interval: 0.3\n"
        + ("" if "max_steps" in service else "  max_steps: 3\n")
        + "".join(f"  {line}\n" for line in service.strip().splitlines())
        + extra
    )
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def ftsweep(
    *args: str | Path, timeout: float = 600, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftsweep", *map(str, args)],
        capture_output=True,
        text=True,
        env=trainer_env(),
        timeout=timeout,
        **kwargs,
    )


def trials_frame(sweep: Path, storage: Path | str) -> list[dict[str, Any]]:
    done = ftsweep("trials", sweep, "--storage", storage, "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return rows


def job_folders(sweep: Path, name: str = "tiny") -> list[Path]:
    root = sweep.parent / ".ftsweep" / "local" / "jobs" / name
    return sorted(root.glob("ftjob-local-*")) if root.exists() else []


def keys(folders: list[Path]) -> Counter[str]:
    found: Counter[str] = Counter()
    for folder in folders:
        body = json.loads((folder / "job.json").read_text())["body"]
        found[body["metadata"]["ftsweep_trial"]] += 1
    return found


def test_a_supervised_sweep_runs_to_the_end_and_reports_like_a_service(
    tmp_path: Path, tiny_model: Path
) -> None:
    sweep = sweep_file(
        tmp_path,
        tiny_model,
        space="learning_rate_multiplier: [1.0, 50.0]\nn_epochs: [auto]\nbatch_size: [auto, 2]",
    )
    storage = tmp_path / "journal.log"
    done = ftsweep("run", sweep, "--storage", storage)
    assert done.returncode == 0, done.stderr
    assert "done" in done.stderr
    rows = trials_frame(sweep, storage)
    assert [r["state"] for r in rows] == ["complete", "complete"]
    for row in rows:
        assert 0 < row["full_valid_loss"] < 20
        assert row["resolved_n_epochs"] >= 1  # auto, resolved by the platform's rule
        assert row["resolved_batch_size"] >= 1
        assert row["trained_tokens"] > 0
        model = Path(row["fine_tuned_model"])  # the trained model, whole, with its tokenizer
        assert (model / "config.json").is_file() and (model / "tokenizer.json").is_file()
    folders = job_folders(sweep)
    assert keys(folders) == Counter({"tiny-0000": 1, "tiny-0001": 1})
    for folder in folders:
        status = json.loads((folder / "status.json").read_text())
        assert status["status"] == "succeeded"
        assert "learning_rate" in status["trl"]
        header = (folder / "result.csv").read_text().splitlines()[0]
        assert header.startswith(
            "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
        )
    # Everything is stored: a second run has nothing to do and trains nothing.
    again = ftsweep("run", sweep, "--storage", storage)
    assert again.returncode == 0, again.stderr
    assert len(job_folders(sweep)) == 2


def test_dpo_and_reinforcement_sweeps_train_too(tmp_path: Path, tiny_model: Path) -> None:
    dpo = sweep_file(
        tmp_path,
        tiny_model,
        method="dpo",
        trials=1,
        name="tiny-dpo",
        space="beta: [0.2]\nlearning_rate_multiplier: [10.0]",
    )
    rft = sweep_file(
        tmp_path,
        tiny_model,
        method="reinforcement",
        trials=1,
        name="tiny-rft",
        space="compute_multiplier: [0.5]\nbatch_size: [4]",
        extra=(
            "grader:\n  type: string_check\n  name: exact\n"
            "  input: '{{ sample.output_text }}'\n  reference: '{{ item.vendor }}'\n"
            "  operation: eq\n"
        ),
    )
    storage = tmp_path / "journal.log"
    for sweep in (dpo, rft):
        done = ftsweep("run", sweep, "--storage", storage)
        assert done.returncode == 0, done.stderr
        (row,) = trials_frame(sweep, storage)
        assert row["state"] == "complete", row
    (dpo_row,) = trials_frame(dpo, storage)
    assert dpo_row["resolved_beta"] == 0.2
    (rft_row,) = trials_frame(rft, storage)
    assert 0.0 <= rft_row["valid_reward_mean"] <= 1.0


def test_kill_9_of_run_leaves_the_trainer_going_and_a_rerun_trains_nothing_twice(
    tmp_path: Path, tiny_model: Path
) -> None:
    """A run killed while its first trial trains: the trainer goes on in its own session; the
    rerun finds it by its folder, waits for it and trains the rest. One job per trial."""
    sweep = sweep_file(tmp_path, tiny_model, trials=2, service="max_steps: 40")
    storage = tmp_path / "journal.log"
    run = start_run(sweep, storage)
    try:
        pid_file = first_trainer(sweep)
        os.kill(run.pid, signal.SIGKILL)
        run.communicate()
        trainer = int(pid_file.read_text())
        os.kill(trainer, 0)  # still training
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    done = ftsweep("run", sweep, "--storage", storage)
    assert done.returncode == 0, done.stderr
    assert [r["state"] for r in trials_frame(sweep, storage)] == ["complete", "complete"]
    assert keys(job_folders(sweep)) == Counter({"tiny-0000": 1, "tiny-0001": 1})


@pytest.mark.parametrize("delay", [1.0, 4.0])
def test_kill_9_of_run_at_any_moment_never_trains_a_trial_twice(
    tmp_path: Path, tiny_model: Path, delay: float
) -> None:
    """Killed while asking, while creating a job's folder, while its trainer starts or trains:
    a rerun completes the sweep with one job per trial."""
    sweep = sweep_file(tmp_path, tiny_model, trials=2, service="max_steps: 6")
    storage = tmp_path / "journal.log"
    command = [sys.executable, "-m", "ftsweep", "run", str(sweep), "--storage", str(storage)]
    run = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=trainer_env())
    time.sleep(delay)
    run.kill()
    run.wait()
    done = ftsweep("run", sweep, "--storage", storage)
    assert done.returncode == 0, done.stderr
    assert [r["state"] for r in trials_frame(sweep, storage)] == ["complete", "complete"]
    assert keys(job_folders(sweep)) == Counter({"tiny-0000": 1, "tiny-0001": 1})


def test_run_prunes_a_hopeless_local_trial_from_its_curve(tmp_path: Path, tiny_model: Path) -> None:
    """A learning rate that barely moves the loss, beside a finished trial that learnt: run
    reads the trainer's curve as it goes, stops it and records it pruned."""
    sweep = sweep_file(
        tmp_path,
        tiny_model,
        trials=2,
        space="learning_rate_multiplier: [300.0, 0.0001]\nn_epochs: [2]\nbatch_size: [1]",
        service="max_steps: 400\nparallel: 1",
        extra="prune: {rule: median, startup_trials: 1, warmup_examples: 0, metric: train_loss}\n",
    )
    sweep.write_text(sweep.read_text().replace("strategy: random", "strategy: grid"))
    storage = tmp_path / "journal.log"
    done = ftsweep("run", sweep, "--storage", storage)
    assert done.returncode == 0, done.stderr
    assert "tiny-0001: pruned at step" in done.stderr
    good, hopeless = trials_frame(sweep, storage)
    assert (good["state"], hopeless["state"]) == ("complete", "pruned")
    assert hopeless["pruned_step"] >= 1
    (folder,) = [f for f in job_folders(sweep) if "tiny-0001" in f.name]
    assert json.loads((folder / "status.json").read_text())["status"] == "cancelled"


def test_jobs_beyond_parallel_wait_queued_and_start_as_others_end(
    tmp_path: Path, tiny_model: Path
) -> None:
    sweep = sweep_file(tmp_path, tiny_model, trials=2, service="parallel: 1\nmax_steps: 30")
    storage = tmp_path / "journal.log"
    submitted = ftsweep("submit", sweep, "-n", "2", "--storage", storage)
    assert submitted.returncode == 0, submitted.stderr
    first, second = job_folders(sweep)
    assert sorted((f / "spawned").exists() for f in (first, second)) == [False, True]
    looked = ftsweep("sync", sweep, "--storage", storage)
    assert "1 queued" in looked.stderr, looked.stderr
    waited = ftsweep("sync", sweep, "--wait", "--storage", storage)
    assert waited.returncode == 0, waited.stderr
    assert [r["state"] for r in trials_frame(sweep, storage)] == ["complete", "complete"]


def test_a_trainer_that_dies_fails_its_trial_only(tmp_path: Path, tiny_model: Path) -> None:
    sweep = sweep_file(tmp_path, tiny_model, trials=2, service="max_steps: 40")
    storage = tmp_path / "journal.log"
    run = start_run(sweep, storage)
    pid_file = first_trainer(sweep)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # as the kernel's OOM killer would
    _, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    states = [r["state"] for r in trials_frame(sweep, storage)]
    assert sorted(states) == ["complete", "fail"]
    failed = next(r for r in trials_frame(sweep, storage) if r["state"] == "fail")
    assert "ended without a result" in failed["error"]


def test_cancel_stops_the_trainer(tmp_path: Path, tiny_model: Path) -> None:
    sweep = sweep_file(tmp_path, tiny_model, trials=1, service="max_steps: 5000")
    storage = tmp_path / "journal.log"
    submitted = ftsweep("submit", sweep, "-n", "1", "--storage", storage)
    assert submitted.returncode == 0, submitted.stderr
    (folder,) = job_folders(sweep)
    wait_for(lambda: (folder / "metrics.jsonl").exists() or None)
    trainer = int((folder / "pid").read_text())
    looked = ftsweep("sync", sweep, "--storage", storage)  # how far it got, as it trains
    assert looked.returncode == 0, looked.stderr
    assert re.search(r"tiny: 1 running; tiny-0000 step \d+/\d+ train_loss \d", looked.stderr)
    cancelled = ftsweep("cancel", sweep, "--all", "--storage", storage)
    assert cancelled.returncode == 0, cancelled.stderr
    wait_for(lambda: not alive(trainer) or None, limit=30)
    assert json.loads((folder / "status.json").read_text())["status"] == "cancelled"
    synced = ftsweep("sync", sweep, "--storage", storage)
    assert synced.returncode == 0, synced.stderr
    (row,) = trials_frame(sweep, storage)
    assert (row["state"], row["job_status"]) == ("fail", "cancelled")


def test_two_runs_on_one_storage_never_train_a_trial_twice(
    tmp_path: Path, tiny_model: Path
) -> None:
    sweep = sweep_file(tmp_path, tiny_model, trials=4, service="parallel: 2")
    storage = tmp_path / "journal.log"
    runs = [start_run(sweep, storage) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    rows = trials_frame(sweep, storage)
    assert [r["state"] for r in rows] == ["complete"] * 4
    assert keys(job_folders(sweep)) == Counter({f"tiny-{n:04d}": 1 for n in range(4)})


@pytest.mark.postgres
def test_two_machines_share_a_sweep_through_postgresql(
    tmp_path: Path, tiny_model: Path, postgres_url: str
) -> None:
    """Two hosts (FTSWEEP_LOCAL_HOST, each with its own folder, as two machines have), one
    PostgreSQL storage: each trains its own trials, none is trained twice, every trial ends."""
    runs = []
    for host in ("host-a", "host-b"):
        folder = tmp_path / host
        folder.mkdir()
        sweep = sweep_file(folder, tiny_model, trials=4)
        runs.append(start_run(sweep, postgres_url, FTSWEEP_LOCAL_HOST=host))
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    rows = trials_frame(tmp_path / "host-a" / "tiny.yaml", postgres_url)
    assert [r["state"] for r in rows] == ["complete"] * 4
    trained = keys(job_folders(tmp_path / "host-a" / "tiny.yaml")) + keys(
        job_folders(tmp_path / "host-b" / "tiny.yaml")
    )
    assert trained == Counter({f"tiny-{n:04d}": 1 for n in range(4)})
    hosts = {r["job_id"].rpartition("@")[2] for r in rows}
    assert hosts == {"host-a", "host-b"}  # both machines trained


def test_a_data_file_it_cannot_train_on_is_refused_before_any_trial(
    tmp_path: Path, tiny_model: Path
) -> None:
    sweep = sweep_file(tmp_path, tiny_model, trials=2)
    bad = DATA / "bad-supervised.jsonl"
    sweep.write_text(sweep.read_text().replace(str(DATA / "support-train.jsonl"), str(bad)))
    storage = tmp_path / "journal.log"
    done = ftsweep("run", sweep, "--storage", storage)
    assert done.returncode == 1
    assert f"{bad}:3: each message needs a role" in done.stderr
    assert "Traceback" not in done.stderr
    assert job_folders(sweep) == [] and trials_frame(sweep, storage) == []


def test_without_the_local_extra_the_error_names_it(tmp_path: Path, tiny_model: Path) -> None:
    sweep = sweep_file(tmp_path, tiny_model, trials=1)
    blocked = (
        "import sys; sys.modules['torch'] = None; sys.modules['trl'] = None\n"
        "from ftsweep.cli import main; sys.argv[0] = 'ftsweep'; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked, "run", str(sweep), "--storage", str(tmp_path / "j.log")],
        capture_output=True,
        text=True,
        env=trainer_env(),
        timeout=120,
    )
    assert done.returncode == 2
    assert "pip install 'ftsweep[local]'" in done.stderr
    assert "torch, trl" in done.stderr
    assert "Traceback" not in done.stderr
    assert job_folders(sweep) == []


def start_run(sweep: Path, storage: Path | str, **env: str) -> subprocess.Popen[str]:
    """`ftsweep run` in the background; its stderr kept for the assertions."""
    return subprocess.Popen(
        [sys.executable, "-m", "ftsweep", "run", str(sweep), "--storage", str(storage)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**trainer_env(), **env},
    )


def first_trainer(sweep: Path) -> Path:
    """The pid file of the sweep's first trainer, once it has one."""
    found: Path = wait_for(
        lambda: next((f / "pid" for f in job_folders(sweep) if (f / "pid").exists()), None)
    )
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def wait_for(probe: Any, limit: float = 300.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")

"""The service commands as a user runs them: real processes, killed at any moment, and never a
key in any file they write or any line they print."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftsweep.testing import Fault, StandIn
from tests.provider.conftest import PHASE, jobs_per_trial, open_study, write_sweep
from tests.terminal import on_terminal

FTSWEEP = [sys.executable, "-m", "ftsweep"]


def environment(service: StandIn, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
    env.update({"OPENAI_API_KEY": service.api_key, "OPENAI_BASE_URL": service.base_url})
    env.update(more)
    return env


def ftsweep(service: StandIn, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [*FTSWEEP, *map(str, args)]
    return subprocess.run(
        command, env=environment(service, **env), capture_output=True, text=True, timeout=120
    )


def test_run_from_the_command_line_to_the_end(service: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, max_trials=5)
    done = ftsweep(service, "run", path, "--parallel", "2")
    assert done.returncode == 0, done.stderr
    assert "done (max_trials (5) reached); 5 job(s) submitted" in done.stderr
    assert "running" in done.stderr or "queued" in done.stderr  # plain progress lines, piped
    with open_study(path) as study:
        trials = study.trials()
    assert len(trials) == 5 and all(t.values for t in trials)
    again = ftsweep(service, "run", path)
    assert again.returncode == 0 and "0 job(s) submitted" in again.stderr
    assert len(service.jobs) == 5


def test_submit_then_sync_wait_from_the_command_line(service: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path)
    sent = ftsweep(service, "submit", path, "-n", "3")
    assert sent.returncode == 0, sent.stderr
    assert "svc: 3 job(s) created, 0 found already on the service" in sent.stderr
    waited = ftsweep(service, "sync", path, "--wait", "--interval", "0.1")
    assert waited.returncode == 0, waited.stderr
    assert "3 trial(s) finished" in waited.stderr
    shown = ftsweep(service, "trials", path, "-f", "csv")
    assert shown.stdout.count(",complete,") == 3


def test_no_key_is_a_one_line_error_naming_the_variable(service: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path)
    env = environment(service)
    del env["OPENAI_API_KEY"]
    done = subprocess.run(
        [*FTSWEEP, "submit", str(path), "-n", "1"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no API key: set OPENAI_API_KEY")
    assert "Traceback" not in done.stderr and not service.jobs


def test_an_unreachable_endpoint_is_a_one_line_error(service: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, timeout=0.5)
    done = ftsweep(service, "sync", path, OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    assert done.returncode != 0  # no study yet: exit 2 says so before any request
    done = ftsweep(service, "submit", path, "-n", "1", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    assert done.returncode == 1
    assert "no answer" in done.stderr and "Traceback" not in done.stderr


def test_the_key_is_in_no_file_and_no_output(service: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, max_trials=4)
    outputs = [
        ftsweep(service, "run", path, "--parallel", "2"),
        ftsweep(service, "trials", path, "-f", "json"),
        ftsweep(service, "submit", path, "-n", "1"),
        ftsweep(service, "sync", path),
        ftsweep(service, "submit", path, "-n", "1", OPENAI_API_KEY="sk-wrong-abcdef123456"),
    ]
    key = service.api_key
    for done in outputs:
        assert key not in done.stdout and key not in done.stderr
        assert "abcdef123456" not in done.stderr
    assert "check OPENAI_API_KEY" in outputs[-1].stderr
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert key.encode() not in file.read_bytes(), file


@pytest.mark.parametrize("delay", [0.5, 1.2, 1.6, 2.0, 2.4, 2.8, 3.4, 4.5])
def test_a_submit_killed_at_any_moment_leaves_one_job_per_trial_after_a_rerun(
    service: StandIn, tmp_path: Path, delay: float
):
    """Each create answers 30 ms late; `submit -n 120` is killed after `delay` seconds (before,
    during and after its creates); every command still reads the study, then `submit` (the
    resume) runs to the end with one job per trial."""
    service.inject(Fault.delay("jobs.create", 0.03, times=10_000))
    path = write_sweep(tmp_path, max_trials=150)
    command = [*FTSWEEP, "submit", str(path), "-n", "120", "--parallel", "2"]
    process = subprocess.Popen(
        command, env=environment(service), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    for reading in (["trials", path, "-f", "csv"], ["doctor", path], ["sync", path]):
        done = ftsweep(service, *reading)
        assert done.returncode in (0, 2), done.stderr  # 2: killed before the study existed
        assert "Traceback" not in done.stderr
    resumed = ftsweep(service, "submit", path)
    assert resumed.returncode == 0, resumed.stderr
    with open_study(path) as study:
        trials = [t for t in study.trials() if t.live]
    per_trial = jobs_per_trial(service)
    assert all(count == 1 for count in per_trial.values()), per_trial
    assert {t.key for t in trials} == set(per_trial)  # every trial has its one job
    assert all(t.job.id for t in trials)
    assert len(trials) <= 120
    time.sleep(6 * PHASE)
    synced = ftsweep(service, "sync", path)
    assert synced.returncode == 0, synced.stderr
    with open_study(path) as study:
        assert all(t.values for t in study.trials() if t.live)


def test_on_a_terminal_sync_wait_shows_a_live_table_of_the_jobs(service: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path)
    assert ftsweep(service, "submit", path, "-n", "2").returncode == 0
    env = environment(service, TERM="xterm", COLUMNS="120", LINES="40")
    command = [*FTSWEEP, "sync", str(path), "--wait", "--interval", "0.1"]
    code, text = on_terminal(command, env, timeout=60)
    assert code == 0
    for column in ("trial", "status", "elapsed", "full_valid_loss"):
        assert column in text
    assert "svc-0000" in text and "succeeded" in text
    assert "2 trial(s) finished" in text


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0])
def test_a_run_killed_at_any_moment_and_run_again_completes_the_sweep(
    service: StandIn, tmp_path: Path, delay: float
):
    service.inject(Fault.delay("jobs.create", 0.08, times=1000))
    path = write_sweep(tmp_path, max_trials=12)
    command = [*FTSWEEP, "run", str(path), "--parallel", "3", "--interval", "0.1"]
    process = subprocess.Popen(
        command, env=environment(service), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    again = ftsweep(service, "run", path, "--parallel", "3", "--interval", "0.1")
    assert again.returncode == 0, again.stderr
    with open_study(path) as study:
        trials = [t for t in study.trials() if t.live]
    per_trial = jobs_per_trial(service)
    assert len(trials) == 12 and all(t.values for t in trials)
    assert {t.key for t in trials} == set(per_trial)
    assert all(count == 1 for count in per_trial.values()), per_trial


def test_ctrl_c_stops_sync_wait_and_loses_nothing(tmp_path: Path):
    with StandIn(phase_seconds=4) as slow:  # nothing finishes while the test waits
        path = write_sweep(tmp_path)
        assert ftsweep(slow, "submit", path, "-n", "2").returncode == 0
        command = [*FTSWEEP, "sync", str(path), "--wait", "--interval", "0.2"]
        process = subprocess.Popen(
            command,
            env=environment(slow),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.0)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130
        assert "stopped; jobs on the service keep running and nothing is lost" in stderr
        assert "Traceback" not in stderr
        with open_study(path) as study:
            trials = study.trials()
        assert len(trials) == 2 and all(t.job.id for t in trials)
        assert ftsweep(slow, "sync", path).returncode == 0

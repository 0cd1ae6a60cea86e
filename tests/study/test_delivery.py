"""Batches that never reached their reader are reclaimed (`ftsweep.study.delivery`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ftsweep.study import SweepStudy
from ftsweep.study.delivery import is_orphaned, is_stream, pending_marker
from ftsweep.sweep import load_sweep

from .test_study import make_study, sweep_text

GRID = "  n_epochs: [1, 2, 3]\n  batch_size: [auto, 8]\n"


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def marker(output: Path | None, **changes: Any) -> dict[str, Any]:
    return {**pending_marker(output), **changes}


def undelivered(study: SweepStudy) -> list[int]:
    """The numbers of the trials that are pending and whose batch is not marked delivered."""
    snapshot = study.store.load()
    return [
        t.number
        for t in snapshot.trials
        if t.pending and t.pending["batch"] not in snapshot.delivered
    ]


def live(study: SweepStudy) -> list[Any]:
    return [t for t in study.trials() if t.live]


def test_asked_trials_are_delivered_at_once(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(2)
    assert not any(t.pending for t in study.trials())
    assert undelivered(study) == []


def test_a_dead_askers_batch_is_reclaimed_and_its_points_handed_out_again(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 3\n"))
    lost_pid = dead_pid()
    lost = study._allocate(2, marker(tmp_path / "never.jsonl", pid=lost_pid))
    batch = study.ask(3)  # the lost two count no more: max_trials still allows three
    assert [a.params for a in batch] == [lost[0].params, lost[1].params, batch[2].params]
    trials = study.trials()
    why = f"batch never written (process {lost_pid} died)"
    assert [t.discarded for t in trials[:2]] == [why, why]
    assert [t.state for t in trials[:2]] == ["fail", "fail"]
    assert [t.number for t in live(study)] == [2, 3, 4]


def test_a_batch_whose_file_was_written_before_the_kill_is_delivered(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    out = tmp_path / "batch.jsonl"
    written = study._allocate(2, marker(out, pid=dead_pid()))
    out.write_text("".join(json.dumps(a.body) + "\n" for a in written))
    study.ask(1)
    assert [t.number for t in live(study)] == [0, 1, 2]
    assert undelivered(study) == []


def test_a_living_askers_batch_is_left_alone(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with study.asking(2, output=tmp_path / "b.jsonl") as batch:
        other = SweepStudy(load_sweep(tmp_path / "sweep.yaml"))
        assert [a.number for a in other.ask(1)] == [2]  # this process is alive: kept
        assert [t.number for t in live(study)] == [0, 1, 2]
        assert undelivered(study) == [0, 1]
    assert [a.number for a in batch] == [0, 1]
    assert undelivered(study) == []


def test_another_hosts_batch_is_reclaimed_only_after_its_lease(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    recent = marker(None, host="elsewhere", pid=1)
    old = marker(None, host="elsewhere", pid=1, since="2026-01-01T00:00:00+00:00")
    study._allocate(1, recent)
    study._allocate(1, old)
    trials = study.trials()
    assert [is_orphaned(t) for t in trials] == [False, True]
    later = datetime.now(UTC) + timedelta(hours=2)
    assert is_orphaned(trials[0], now=later)


def test_a_batch_for_a_stream_is_delivered_as_writing_starts(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with study.asking(1):
        assert undelivered(study) == []
    assert is_stream(None) and is_stream("/dev/null") and not is_stream(tmp_path / "new.jsonl")


# --- kill -9 at many moments ----------------------------------------------------------------

BIG = """\
name: big
method: dpo
model: gpt-4.1-mini-2025-04-14
training_file: file-train
strategy: random
space:
  beta: {low: 0.01, high: 2.0, log: true, num: 100}
  learning_rate_multiplier: {low: 0.05, high: 5, log: true, num: 100}
  n_epochs: {low: 1, high: 10}
"""


def ftsweep(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftsweep", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def keys_in(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [json.loads(line)["metadata"]["ftsweep_trial"] for line in path.read_text().splitlines()]


def test_ask_killed_at_any_moment_hands_out_nothing_twice_and_loses_no_slot(
    tmp_path: Path,
) -> None:
    """SIGKILL an `ask -n 300 -o FILE` at many moments: afterwards every command reads the study,
    and once the next `ask` has run, the live trials are exactly those of the batch files that
    exist, each configuration once; a batch that was never written counts for nothing."""
    (tmp_path / "big.yaml").write_text(BIG)
    start = time.monotonic()
    assert (
        ftsweep("ask", "big.yaml", "-n", "300", "-o", "timing.jsonl", cwd=tmp_path).returncode == 0
    )
    took = time.monotonic() - start
    files = [tmp_path / "timing.jsonl"]
    for i, fraction in enumerate((0.2, 0.4, 0.6, 0.8, 0.95, 1.1)):
        out = tmp_path / f"killed-{i}.jsonl"
        process = subprocess.Popen(
            [sys.executable, "-m", "ftsweep", "ask", "big.yaml", "-n", "300", "-o", out.name],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(took * fraction)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        listed = ftsweep("trials", "big.yaml", "-f", "csv", cwd=tmp_path)
        assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
        after = tmp_path / f"after-{i}.jsonl"
        asked = ftsweep("ask", "big.yaml", "-n", "1", "-o", after.name, cwd=tmp_path)
        assert asked.returncode == 0, asked.stderr
        files += [out, after]
        study = SweepStudy(load_sweep(tmp_path / "big.yaml"))
        kept = live(study)
        handed_out = [key for f in files for key in keys_in(f)]
        assert sorted(study.key(t.number) for t in kept) == sorted(handed_out)
        configurations = {json.dumps(t.params, sort_keys=True) for t in kept}
        assert len(configurations) == len(kept)

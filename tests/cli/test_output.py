"""Where `plan`, `ask` and `trials` write: stdout, -o FILE, devices, and what can go wrong there.

Errors of writing are one line on stderr and exit code 1; a closed pipe ends quietly. Real file
descriptors matter here (a full disk, a closed pipe, a killed writer), so several tests run the
CLI in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import CompletedProcess
from typing import IO

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app
from ftsweep.study import SweepStudy
from ftsweep.sweep import load_sweep

runner = CliRunner()

SWEEP = """\
name: out
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: file-abc
space:
  n_epochs: [1, 2, 3]
  learning_rate_multiplier: {low: 0.1, high: 2}
job:
  suffix: "t-{trial}"
"""
FULL = "cannot be written: No space left on device"
BIG = 20_000  # trials: a few MB of JSONL, more than a pipe holds
# Buffered stdout, as most people run it: the last write then happens in the final flush.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@pytest.fixture(autouse=True)
def no_env_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTSWEEP_STORAGE", raising=False)


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A sweep whose study exists (empty), so that `trials` has one to read."""
    path = tmp_path / "out.yaml"
    path.write_text(SWEEP)
    with SweepStudy(load_sweep(path)) as study:
        study.store.load(write=True)
    return path


def command(name: str, sweep: Path) -> list[str]:
    """`name` writing a few lines of JSONL or CSV to stdout."""
    extra = {"plan": ["-f", "jsonl", "-n", "3"], "ask": ["-n", "2"], "trials": ["-f", "csv"]}
    return [name, str(sweep), *extra[name]]


def cli(
    args: list[str], stdout: IO[bytes] | int = subprocess.PIPE, prefix: list[str] | None = None
) -> CompletedProcess[bytes]:
    """`ftsweep ARGS` in a subprocess (run by `prefix`); its stderr is captured."""
    command = [*(prefix or []), sys.executable, "-m", "ftsweep", *args]
    return subprocess.run(
        command, stdout=stdout, stderr=subprocess.PIPE, env=ENV, timeout=120, check=False
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("name", ["plan", "ask", "trials"])
def test_a_full_disk_on_stdout_is_one_line(sweep: Path, name: str) -> None:
    with open("/dev/full", "wb") as full:
        done = cli(command(name, sweep), stdout=full)
    assert (done.returncode, done.stderr.decode()) == (1, f"error: stdout: {FULL}\n")


def test_ask_whose_batch_cannot_reach_stdout_hands_out_nothing(sweep: Path) -> None:
    with open("/dev/full", "wb") as full:
        assert cli(command("ask", sweep), stdout=full).returncode == 1
    listed = cli(["trials", str(sweep), "-f", "csv"])
    assert listed.returncode == 0 and listed.stdout.count(b"\n") == 1  # the header alone


def test_a_table_on_a_full_disk_is_one_line(sweep: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = cli(["plan", str(sweep), "-n", "3"], stdout=full)
    assert (done.returncode, done.stderr.decode()) == (1, f"error: stdout: {FULL}\n")


def test_a_closed_pipe_ends_quietly(sweep: Path) -> None:
    args = [sys.executable, "-m", "ftsweep", "plan", str(sweep), "-f", "jsonl", "-n", str(BIG)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        assert reader.stdout.readline().startswith(b'{"model":')
        reader.stdout.close()  # as `| head -1` does
        stderr = reader.stderr.read()
    assert (reader.returncode, stderr) == (1, b"")


@pytest.mark.parametrize("name", ["plan", "ask", "trials"])
def test_a_pipe_closed_before_the_output_ends_quietly(sweep: Path, name: str) -> None:
    read, write = os.pipe()
    os.close(read)  # as `| true` does before the command gets to write
    try:
        done = cli(command(name, sweep), stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, b"")


@pytest.mark.parametrize("name", ["plan", "ask", "trials"])
def test_output_to_a_directory_is_one_line(sweep: Path, tmp_path: Path, name: str) -> None:
    directory = tmp_path / "batches"
    directory.mkdir()
    result = runner.invoke(app, [*command(name, sweep), "-o", str(directory)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: {directory}: cannot be written: Is a directory\n"
    assert list(directory.iterdir()) == [] and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "-f", "jsonl", "-n", "3"],
        ["plan", "-f", "table"],
        ["ask", "-n", "2"],
        ["trials", "-f", "csv"],
        ["trials", "-f", "table"],
        ["trials", "-f", "parquet"],
    ],
)
def test_a_full_device_behind_o_is_one_line(sweep: Path, tmp_path: Path, args: list[str]) -> None:
    link = tmp_path / "full"
    link.symlink_to("/dev/full")
    result = runner.invoke(app, [args[0], str(sweep), *args[1:], "-o", str(link)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: {link}: {FULL}\n"
    assert link.is_symlink()


@pytest.mark.parametrize("name", ["plan", "ask", "trials"])
def test_o_through_a_link_to_stdout_writes_to_stdout(
    sweep: Path, tmp_path: Path, name: str
) -> None:
    link = tmp_path / "stdout"
    link.symlink_to("/dev/stdout")
    expected = cli(command(name, sweep))  # `ask` hands out 2 trials...
    done = cli([*command(name, sweep), "-o", str(link)])  # ...and 2 more
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(expected.stdout.splitlines()) >= 1
    if name != "ask":
        assert done.stdout == expected.stdout
    assert link.is_symlink() and leftovers(tmp_path) == []


def test_a_killed_plan_leaves_the_old_file_and_the_next_write_cleans_up(
    sweep: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.jsonl"
    new = cli(["plan", str(sweep), "-f", "jsonl", "-n", str(BIG)]).stdout
    for delay in (0.0, 0.05, 0.2):
        out.write_bytes(b"old\n")
        _kill_while_writing(
            ["plan", str(sweep), "-f", "jsonl", "-n", str(BIG), "-o", str(out)], delay
        )
        assert out.read_bytes() in (b"old\n", new)  # never a part of the new one
        again = cli(["plan", str(sweep), "-f", "jsonl", "-n", "3", "-o", str(out)])
        assert again.returncode == 0
        assert leftovers(tmp_path) == [] and out.read_bytes() == new[: _third_line_end(new)]


def _kill_while_writing(args: list[str], delay: float = 0.0) -> None:
    """Start `ftsweep ARGS`, SIGKILL it once its temporary file exists (after `delay`)."""
    directory = Path(args[-1]).parent
    with subprocess.Popen([sys.executable, "-m", "ftsweep", *args], env=ENV) as writer:
        deadline = time.monotonic() + 60
        while not leftovers(directory) and writer.poll() is None:
            assert time.monotonic() < deadline, "the writer never created its temporary file"
            time.sleep(0.005)
        time.sleep(delay)
        os.kill(writer.pid, signal.SIGKILL)
    assert writer.returncode == -signal.SIGKILL, "the writer finished before it was killed"


def _third_line_end(data: bytes) -> int:
    end = -1
    for _ in range(3):
        end = data.index(b"\n", end + 1)
    return end + 1


def test_o_on_a_read_only_mount_is_one_line(sweep: Path, tmp_path: Path) -> None:
    from tests.study.store.test_storage import read_only_mount

    out = tmp_path / "ro" / "plan.jsonl"
    out.parent.mkdir()
    prefix = read_only_mount(out.parent)
    done = cli(["plan", str(sweep), "-f", "jsonl", "-n", "3", "-o", str(out)], prefix=prefix)
    error = f"error: {out}: cannot be written: Read-only file system\n"
    assert (done.returncode, done.stderr.decode()) == (1, error)

"""Writing output files (`ftsweep.io`): atomically where the path is a regular file."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftsweep.errors import OutputError
from ftsweep.io import atomic_output


def write(path: Path, data: bytes) -> None:
    with atomic_output(path) as stream:
        stream.write(data)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    code = "import os; print(os.getpid())"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(done.stdout)


def test_a_new_file_is_written_with_nothing_left_beside_it(tmp_path: Path) -> None:
    write(tmp_path / "out.jsonl", b"new\n")
    assert (tmp_path / "out.jsonl").read_bytes() == b"new\n"
    assert leftovers(tmp_path) == []


def test_an_error_in_the_block_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"old\n")
    with pytest.raises(RuntimeError), atomic_output(out) as stream:
        stream.write(b"half")
        raise RuntimeError("stop")
    assert out.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_a_symlink_stays_a_link_and_its_target_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "plan.jsonl"
    target.write_bytes(b"old\n")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(Path("data") / "plan.jsonl")
    write(link, b"new\n")
    assert link.is_symlink() and os.readlink(link) == str(Path("data") / "plan.jsonl")
    assert target.read_bytes() == b"new\n"
    assert leftovers(tmp_path) == leftovers(tmp_path / "data") == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.jsonl"
    link.symlink_to(tmp_path / "plan.jsonl")
    write(link, b"new\n")
    assert link.is_symlink() and (tmp_path / "plan.jsonl").read_bytes() == b"new\n"


def test_a_character_device_is_written_directly(tmp_path: Path) -> None:
    link = tmp_path / "sink"
    link.symlink_to(os.devnull)
    write(link, b"gone\n")
    assert link.is_symlink() and Path(os.devnull).is_char_device()
    assert leftovers(tmp_path) == []


def test_a_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so opening it to write never blocks
    try:
        write(fifo, b"through the pipe\n")
        assert os.read(reader, 100) == b"through the pipe\n"
    except BlockingIOError:
        pytest.fail("nothing came through the FIFO")
    finally:
        os.close(reader)
    assert fifo.is_fifo()


def test_a_full_device_is_an_output_error(tmp_path: Path) -> None:
    link = tmp_path / "full"
    link.symlink_to("/dev/full")
    with pytest.raises(OutputError, match=f"^{link}: cannot be written: No space left on device$"):
        write(link, b"x" * 100)
    assert link.is_symlink()


def test_a_directory_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=f"^{tmp_path}: cannot be written: Is a directory$"):
        write(tmp_path, b"x")
    assert leftovers(tmp_path.parent) == []


def test_a_missing_directory_is_an_output_error(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.jsonl"
    with pytest.raises(OutputError, match=f"^{out}: cannot be written: No such file or directory$"):
        write(out, b"x")


def test_temporary_files_name_the_target_and_the_writer(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with atomic_output(out) as stream:
        stream.write(b"x")
        (temp,) = leftovers(tmp_path)
    assert temp.startswith(f".out.jsonl.{os.getpid()}.")


def test_a_write_removes_the_leftovers_of_dead_writers_only(tmp_path: Path) -> None:
    dead = dead_pid()
    stale = tmp_path / f".out.jsonl.{dead}.abc_123.tmp"
    live = tmp_path / f".out.jsonl.{os.getpid()}.abc_123.tmp"  # a writer still running
    locked = tmp_path / f".out.jsonl.{dead}.locked.tmp"  # one in another pid namespace
    other = tmp_path / f".out.jsonl.{dead}.{dead}.xyz.tmp"  # one of `out.jsonl.{dead}`
    for path in (stale, live, locked, other):
        path.write_bytes(b"partial")
    with locked.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        write(tmp_path / "out.jsonl", b"new\n")
    assert leftovers(tmp_path) == sorted(p.name for p in (live, locked, other))


KILLED_WRITER = """\
import os, sys
from ftsweep.io import atomic_output
with atomic_output(sys.argv[1]) as stream:
    stream.write(b"new" * 1000)
    print(flush=True)  # the temporary file exists: the parent may kill us now
    sys.stdin.read()
"""


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"old\n")
    command = [sys.executable, "-c", KILLED_WRITER, str(out)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as writer:
        assert writer.stdout is not None and writer.stdout.readline() == b"\n"
        writer.kill()
    assert len(leftovers(tmp_path)) == 1 and out.read_bytes() == b"old\n"
    write(out, b"new\n")
    assert leftovers(tmp_path) == [] and out.read_bytes() == b"new\n"

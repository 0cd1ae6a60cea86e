"""Writing output: a reader of a regular file sees the old file or the whole new one, never half.

`atomic_output(path)` replaces a regular file atomically: the bytes go to a temporary file in the
target's directory that is renamed over it, through symlinks (the link stays a link, its target
is replaced). Anything else that exists (`/dev/stdout`, `/dev/null`, a FIFO) cannot be renamed
over and is written directly. A temporary file is named `.NAME.PID.XXXXXXXX.tmp` and flock'ed
while written, so the next write to NAME removes the ones a killed writer left: those no process
holds whose writer's pid is gone.

`reported_stdout()` is the same promise for standard output: within it, an error writing
`sys.stdout` is an `OutputError` naming stdout. A closed pipe stays `BrokenPipeError`, which the
CLI ends on quietly, as Unix tools do.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ftsweep.errors import OutputError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["atomic_output", "reported_stdout"]

_BUFFER = 1 << 20
_TEMP_TAIL = re.compile(r"(\d+)\.[a-z0-9_]+\.tmp")  # after ".NAME.": PID.XXXXXXXX.tmp


def _error(path: Path | str, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot be written: {exc.strerror or exc}")


@contextlib.contextmanager
def _reported(path: Path | str) -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _error(path, exc) from None


class _Writer(io.BufferedWriter):
    """A buffered file whose errors of writing are `OutputError`s naming `path`."""

    def __init__(self, raw: io.FileIO, path: Path) -> None:
        super().__init__(raw, _BUFFER)
        self.path = path

    def write(self, data: ReadableBuffer) -> int:
        try:  # not `_reported`: this runs once per line of a plan, a context manager costs
            return super().write(data)
        except OSError as exc:
            raise _error(self.path, exc) from None

    def flush(self) -> None:
        with _reported(self.path):
            super().flush()

    def close(self) -> None:
        with _reported(self.path):
            super().close()


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary stream to `path`; a regular file is replaced when the block ends without error."""
    path = Path(path)
    if _is_special(path):
        with _reported(path):
            raw = io.FileIO(path, "w")
        with _writing(_Writer(raw, path)) as stream:
            yield stream
        return
    target = Path(os.path.realpath(path))
    _remove_stale_temps(target)
    with _replacing(path, target) as stream:
        yield stream


def _is_special(path: Path) -> bool:
    """Whether `path` exists and is not a regular file; a directory is an error."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:  # also a dangling symlink: its target is created
        return False
    except OSError as exc:
        raise _error(path, exc) from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path}: cannot be written: {os.strerror(errno.EISDIR)}")
    return not stat.S_ISREG(mode)


@contextlib.contextmanager
def _writing(stream: _Writer) -> Iterator[_Writer]:
    """`stream`, flushed and closed at the end; closed without flushing after an error."""
    try:
        yield stream
        stream.flush()
    except BaseException:
        stream.raw.close()  # the buffered rest is dropped: flushing it would fail again
        raise
    finally:
        stream.close()


@contextlib.contextmanager
def _replacing(path: Path, target: Path) -> Iterator[_Writer]:
    fd, temp = _locked_temp(path, target)
    try:
        with _writing(_Writer(io.FileIO(fd, "w"), path)) as stream:
            yield stream
            stream.flush()
            with _reported(path):  # still locked: a cleaner never takes it for a leftover
                os.fsync(fd)
                os.fchmod(fd, 0o666 & ~_umask())
                os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _locked_temp(path: Path, target: Path) -> tuple[int, str]:
    import tempfile  # not at the top: it imports shutil and more, and every command loads this

    prefix = f".{target.name}.{os.getpid()}."
    with _reported(path):
        fd, temp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
    with contextlib.suppress(OSError):  # a file system without flock: the pid still protects it
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd, temp


def _remove_stale_temps(target: Path) -> None:
    """Remove the temporary files of `target` that writers killed mid-write left behind."""
    prefix = f".{target.name}."
    try:
        names = os.listdir(target.parent)
    except OSError:
        return  # creating the temporary file will say what is wrong
    for name in names:
        found = _TEMP_TAIL.fullmatch(name[len(prefix) :]) if name.startswith(prefix) else None
        if found and not _alive(int(found[1])):
            _remove_unlocked(target.parent / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_unlocked(path: Path) -> None:
    """Remove `path` unless a process holds its lock (a writer in another pid namespace)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()
    except OSError:
        pass  # locked, or already removed by another cleaner
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _ReportedStream:
    """A proxy of a standard stream whose errors of writing are `OutputError`s naming it."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._stream, attribute)

    @property
    def buffer(self) -> _ReportedStream:
        return _ReportedStream(self._stream.buffer, self._name)

    def write(self, data: Any) -> int:
        with _reported(self._name):
            return cast(int, self._stream.write(data))

    def flush(self) -> None:
        with _reported(self._name):
            self._stream.flush()


@contextlib.contextmanager
def reported_stdout() -> Iterator[None]:
    """Within the block, and in its final flush, errors writing stdout are `OutputError`s."""
    original = sys.stdout
    sys.stdout = cast(Any, _ReportedStream(original, "stdout"))
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = original

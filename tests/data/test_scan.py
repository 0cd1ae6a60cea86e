"""The scanner: chunks cut at line boundaries with exact line numbers, every kind of line
ending, and the same results in the same order in-process and on a process pool."""

from __future__ import annotations

import io
import random
from functools import partial
from pathlib import Path

import pytest

from ftsweep.data import scan as scan_module
from ftsweep.data.scan import default_workers, iter_lines, read_chunks, scan, terminal_progress
from tests.data.chunk_functions import chunk_of, fail_on_boom, lines_of, tagged

BOM = b"\xef\xbb\xbf"


def _lines(content: bytes) -> list[tuple[int, bytes]]:
    """What the scanner should report: every line, numbered from 1, without its ending."""
    if content.startswith(BOM):
        content = content[len(BOM) :]
    lines = content.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [(n, line.removesuffix(b"\r")) for n, line in enumerate(lines, 1)]


def _content(seed: int, n: int = 300) -> bytes:
    """Lines of every length (some far over a 64-byte chunk), blank ones, CRLF and bad UTF-8."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.1:
            out.append(b"")
        elif kind < 0.15:
            out.append(b"\xff\xfe not utf-8 \xc3")
        else:
            body = b"x" * rng.choice([1, 10, 63, 64, 65, 200])
            out.append(b'{"i": %d, "s": "%s"}' % (i, body))
        out[-1] += b"\r\n" if rng.random() < 0.3 else b"\n"
    return b"".join(out)


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(_content(1) + b'{"last": "no newline"}')
    return path


def test_chunks_end_at_line_boundaries_and_know_their_first_line(jsonl: Path) -> None:
    content = jsonl.read_bytes()
    chunks = list(read_chunks(jsonl, chunk_size=64))
    assert len(chunks) > 50
    assert b"".join(data for _, data, _ in chunks) == content
    done = 0
    for first, data, end in chunks:
        assert first == content[:done].count(b"\n") + 1
        done += len(data)
        assert end == done
    assert all(data.endswith(b"\n") for _, data, _ in chunks[:-1])


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_lines_straddling_chunks_come_out_whole_and_numbered(jsonl: Path, chunk_size: int) -> None:
    lines = [
        line for first, data, _ in read_chunks(jsonl, chunk_size) for line in lines_of(first, data)
    ]
    assert lines == _lines(jsonl.read_bytes())
    assert lines[-1] == (301, b'{"last": "no newline"}')


def test_line_endings_blank_lines_and_a_final_line_without_newline() -> None:
    data = b'{"a": 1}\r\n\n   \r\n{"b": 2}\n\xff\xfe\n{"c": 3}'
    assert list(iter_lines(7, data)) == [
        (7, b'{"a": 1}'),
        (8, b""),
        (9, b"   "),
        (10, b'{"b": 2}'),
        (11, b"\xff\xfe"),
        (12, b'{"c": 3}'),
    ]
    assert list(iter_lines(1, b"\n\n")) == [(1, b""), (2, b"")]
    assert list(iter_lines(1, b"")) == []


def test_a_byte_order_mark_at_the_start_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(BOM + b'{"a": 1}\n{"b": "\xef\xbb\xbf inside stays"}\n')
    chunks = list(read_chunks(path, chunk_size=4))
    assert chunks[0][:2] == (1, b'{"a": 1}\n')
    assert [line for f, d, _ in chunks for line in lines_of(f, d)] == [
        (1, b'{"a": 1}'),
        (2, b'{"b": "\xef\xbb\xbf inside stays"}'),
    ]
    assert chunks[-1][2] == path.stat().st_size


@pytest.mark.parametrize("content", [b"", BOM, b"x", BOM + b"x", b"\n"])
def test_tiny_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tiny.jsonl"
    path.write_bytes(content)
    lines = [line for r in scan(path, lines_of, chunk_size=2) for line in r]
    assert lines == (_lines(content) if content.strip(BOM) else [])


def test_a_pool_gives_the_same_results_in_the_same_order(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(BOM + _content(2, 2000))
    alone, seen = list(scan(path, chunk_of, workers=1, chunk_size=256)), []
    pooled = list(scan(path, chunk_of, workers=2, chunk_size=256, progress=seen.append))
    assert pooled == alone
    assert len(pooled) > 100
    assert [first for first, _ in pooled] == sorted(first for first, _ in pooled)
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size
    assert [line for r in pooled for line in lines_of(*r)] == _lines(path.read_bytes())


def test_a_partial_with_fixed_arguments_runs_on_the_pool(jsonl: Path) -> None:
    fn = partial(tagged, "rows")
    pooled = list(scan(jsonl, fn, workers=2, chunk_size=1024))
    assert pooled == list(scan(jsonl, fn, workers=1, chunk_size=1024))
    assert {tag for tag, _, _ in pooled} == {"rows"}
    assert sum(size for _, _, size in pooled) == jsonl.stat().st_size


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_in_a_chunk_function_reaches_the_caller(tmp_path: Path, workers: int) -> None:
    path = tmp_path / "boom.jsonl"
    path.write_bytes(b'{"ok": 1}\n' * 50 + b"boom\n" + b'{"ok": 1}\n' * 50)
    with pytest.raises(ValueError, match="boom in the chunk at line"):
        list(scan(path, fail_on_boom, workers=workers, chunk_size=64))


def test_a_consumer_may_stop_early(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(_content(3, 500))
    results = scan(path, chunk_of, workers=2, chunk_size=64)
    assert next(results)[0] == 1
    results.close()  # shuts the pool down, cancelling what was queued


def test_small_files_run_in_process_unless_workers_are_asked_for(
    jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a small file started a process pool")

    monkeypatch.setattr(scan_module, "ProcessPoolExecutor", no_pool)
    assert list(scan(jsonl, chunk_of)) == list(scan(jsonl, chunk_of, workers=1))
    with pytest.raises(AssertionError, match="started a process pool"):
        list(scan(jsonl, chunk_of, workers=2))
    monkeypatch.setattr(scan_module, "IN_PROCESS_BELOW", jsonl.stat().st_size)
    with pytest.raises(AssertionError, match="started a process pool"):
        list(scan(jsonl, chunk_of))  # a big file: every core
    assert default_workers() >= 1


def test_progress_is_the_bytes_done(jsonl: Path) -> None:
    seen: list[int] = []
    list(scan(jsonl, chunk_of, chunk_size=512, progress=seen.append))
    assert seen == sorted(seen) and len(seen) > 1 and seen[-1] == jsonl.stat().st_size


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_a_pipe_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    big = scan_module.IN_PROCESS_BELOW
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with terminal_progress(big, "counting tokens") as progress:
        assert progress is None
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    with terminal_progress(big, "counting tokens") as progress:
        assert progress is not None
        progress(big // 2)
    assert "counting tokens" in stream.getvalue()
    with terminal_progress(big - 1, "counting tokens") as progress:
        assert progress is None

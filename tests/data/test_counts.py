"""A training file's token counts: the same as counting its rows one by one, whatever the
chunking or the number of workers, with bad lines skipped and counted."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from ftsweep.data.counts import TokenCounts, count_chunk, count_file
from ftsweep.data.tokens import CONTEXT_LIMIT, count_example, tokenizer_for
from ftsweep.errors import PlanError


def _row(i: int) -> dict[str, object]:
    return {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": f"Question {i}: what is {i} * {i + 1}? " * (i % 5 + 1)},
            {"role": "assistant", "content": f"It is {i * (i + 1)}.", "weight": 1},
        ]
    }


LONG = {"messages": [{"role": "user", "content": "a " * (CONTEXT_LIMIT + 100)}]}


@pytest.fixture
def train(tmp_path: Path) -> Path:
    """40 rows, then a blank line, broken lines and a long row, CRLF, a BOM and no last newline."""
    lines = [json.dumps(_row(i)).encode() for i in range(40)]
    lines[3:3] = [b"", b"  "]  # lines 4 and 5
    lines.insert(10, b"{not json")  # line 11
    lines.insert(20, b"[1, 2, 3]")  # line 21: JSON but not an object
    lines.insert(30, b'{"messages": "\xff\xfe"}')  # line 31: not UTF-8
    lines.append(json.dumps(LONG).encode())  # line 46: 40 rows, 2 blank and 3 broken lines above
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines))
    return path


def test_a_file_counts_as_its_rows_do(train: Path) -> None:
    counts = [count_example(_row(i), "supervised") for i in range(40)]
    long = count_example(LONG, "supervised")
    assert long > CONTEXT_LIMIT
    result = count_file(train, "supervised", "o200k_base")
    assert result == TokenCounts(
        examples=41,
        total=sum(counts) + long,
        total_capped=sum(counts) + CONTEXT_LIMIT,
        min=min(counts),
        median=statistics.median([*counts, long]),
        max=long,
        over_limit=(46,),
        invalid_lines=(11, 21, 31),
        blank_lines=2,
        tokenizer="o200k_base",
    )
    assert result.invalid == 3


def test_chunking_and_workers_do_not_change_the_counts(train: Path) -> None:
    whole = count_file(train, "supervised", "o200k_base", workers=1)
    assert count_file(train, "supervised", "o200k_base", workers=1, chunk_size=64) == whole
    seen: list[int] = []
    pooled = count_file(
        train, "supervised", "o200k_base", workers=2, chunk_size=64, progress=seen.append
    )
    assert pooled == whole
    assert seen[-1] == train.stat().st_size


def test_the_fast_path_counts_as_tiktoken_does(train: Path) -> None:
    data = train.read_bytes()
    assert count_chunk("supervised", "o200k_base", True, 1, data) == count_chunk(
        "supervised", "o200k_base", False, 1, data
    )


def test_dpo_files_count_both_outputs(tmp_path: Path) -> None:
    row = {
        "input": {"messages": [{"role": "user", "content": "Say hi."}]},
        "preferred_output": [{"role": "assistant", "content": "Hi!"}],
        "non_preferred_output": [{"role": "assistant", "content": "No."}],
    }
    path = tmp_path / "dpo.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    result = count_file(path, "dpo", "o200k_base")
    assert (result.examples, result.total) == (2, 2 * count_example(row, "dpo"))
    assert result.median == result.min == result.max == count_example(row, "dpo")


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "word " * n}]} for n in (1, 4, 9, 30)]
    path = tmp_path / "even.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    counts = sorted(count_example(row, "supervised") for row in rows)
    assert count_file(path, "supervised", "o200k_base").median == (counts[1] + counts[2]) / 2


def test_an_empty_file_counts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = count_file(path, "reinforcement", "cl100k_base")
    assert (result.examples, result.total, result.min, result.median, result.max) == (0,) * 5


def test_the_tokenizer_is_checked_before_any_worker_starts(train: Path) -> None:
    with pytest.raises(PlanError, match="unknown tokenizer 'gpt2'"):
        count_file(train, "supervised", "gpt2", workers=2)
    with pytest.raises(ValueError, match="method must be one of"):
        count_file(train, "preference", "o200k_base")


def test_another_encoding_counts_with_its_own_ids(train: Path) -> None:
    cl100k = tokenizer_for("gpt-4")
    expected = sum(count_example(_row(i), "supervised", cl100k) for i in range(40))
    expected += count_example(LONG, "supervised", cl100k)
    assert count_file(train, "supervised", "cl100k_base").total == expected

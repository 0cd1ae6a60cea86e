"""Exporting a plan as JSONL, JSON or CSV, and writing output files atomically."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ftsweep.errors import OutputError
from ftsweep.io import atomic_output
from ftsweep.sweep import loads_sweep, plan
from ftsweep.sweep.export import FORMATS, csv_columns, write_plan

from .conftest import sweep_yaml

UNION = sweep_yaml(
    "dpo",
    "  - n_epochs: [1, 2]\n    beta: [0.1, 0.25]\n  - batch_size: [auto, 8]\n    beta: 0.5\n",
    "job: {suffix: 'x-{trial}'}\n",
    name="exp",
)


def export(fmt: str, limit: int | None = None) -> tuple[int, bytes]:
    stream = io.BytesIO()
    count = write_plan(plan(loads_sweep(UNION), limit), fmt, stream)  # type: ignore[arg-type]
    return count, stream.getvalue()


def test_formats() -> None:
    assert FORMATS == ("jsonl", "json", "csv")


def test_jsonl_is_one_body_per_line() -> None:
    count, data = export("jsonl")
    assert count == 6
    lines = data.decode().splitlines()
    assert data.endswith(b"\n") and len(lines) == 6
    expected = list(plan(loads_sweep(UNION)).bodies())
    assert [json.loads(line) for line in lines] == expected
    assert json.loads(lines[0])["metadata"]["ftsweep_trial"] == "exp-0000"


def test_json_is_an_array_of_bodies() -> None:
    count, data = export("json")
    assert count == 6
    assert json.loads(data) == list(plan(loads_sweep(UNION)).bodies())


def test_csv_has_trial_key_and_every_dimension() -> None:
    count, data = export("csv")
    assert count == 6
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["trial", "key", "n_epochs", "beta", "batch_size"]
    assert rows[1:] == [
        ["0", "exp-0000", "1", "0.1", ""],
        ["1", "exp-0001", "1", "0.25", ""],
        ["2", "exp-0002", "2", "0.1", ""],
        ["3", "exp-0003", "2", "0.25", ""],
        ["4", "exp-0004", "", "0.5", "auto"],
        ["5", "exp-0005", "", "0.5", "8"],
    ]
    assert csv_columns(plan(loads_sweep(UNION))) == rows[0]


def test_csv_lines_end_in_lf() -> None:
    assert export("csv", limit=3)[1] == (
        b"trial,key,n_epochs,beta,batch_size\n"
        b"0,exp-0000,1,0.1,\n"
        b"1,exp-0001,1,0.25,\n"
        b"2,exp-0002,2,0.1,\n"
    )


@pytest.mark.parametrize(("fmt", "empty"), [("jsonl", b""), ("json", b"[]\n"), ("csv", None)])
def test_an_empty_plan(fmt: str, empty: bytes | None) -> None:
    count, data = export(fmt, limit=0)
    assert count == 0
    if empty is not None:
        assert data == empty
    else:
        assert data.decode().splitlines() == ["trial,key,n_epochs,beta,batch_size"]
    if fmt == "json":
        assert json.loads(data) == []


def test_limit_counts() -> None:
    for fmt in FORMATS:
        assert export(fmt, limit=4)[0] == 4
    assert len(export("jsonl", limit=4)[1].splitlines()) == 4
    assert len(json.loads(export("json", limit=4)[1])) == 4


def test_export_leaves_the_stream_open() -> None:
    stream = io.BytesIO()
    write_plan(plan(loads_sweep(UNION)), "csv", stream)
    assert not stream.closed
    stream.write(b"more")


# --- atomic output ---------------------------------------------------------------------------


def test_atomic_output_writes_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.jsonl"
    with atomic_output(target) as stream:
        assert write_plan(plan(loads_sweep(UNION)), "jsonl", stream) == 6
        assert not target.exists()  # nothing visible until the block ends
    assert len(target.read_bytes().splitlines()) == 6
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_output_keeps_the_old_file_when_the_block_raises(tmp_path: Path) -> None:
    target = tmp_path / "plan.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(RuntimeError, match="halfway"), atomic_output(target) as stream:
        stream.write(b"new, partial")
        raise RuntimeError("halfway")
    assert target.read_bytes() == b"old\n"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_atomic_output_replaces_an_old_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(b"old\n")
    with atomic_output(target) as stream:
        write_plan(plan(loads_sweep(UNION), 2), "json", stream)
    assert len(json.loads(target.read_bytes())) == 2
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_output_into_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"plan\.jsonl: cannot be written: "):
        with atomic_output(tmp_path / "absent" / "plan.jsonl"):
            pass

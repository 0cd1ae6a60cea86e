"""Writing a trials DataFrame as CSV, JSON or Parquet (`ftsweep.study.export`)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from ftsweep.errors import OutputError
from ftsweep.study import read_results, tell, trials_frame
from ftsweep.study.export import write_frame

from .test_feedback import job_object, write
from .test_study import created, make_study, result, sweep_text

BETA_SPACE = "  beta: {low: 0.02, high: 2.0, log: true}\n  batch_size: [auto, 8]\n"


@pytest.fixture
def frame(tmp_path: Path) -> pd.DataFrame:
    """Four trials: batch_size mixes "auto" and numbers; complete, failed and running rows."""
    study = make_study(tmp_path, sweep_text())
    study.ask(4)
    tell(
        study,
        [
            result(trial=0, values={"full_valid_loss": 0.5}, trained_tokens=1000, job_id="ftjob-0"),
            result(trial=1, status="failed", error="invalid_training_file: line 3"),
        ],
    )
    running = job_object("s-0002", id="ftjob-2", status="running")
    running["method"]["supervised"]["hyperparameters"] = {"batch_size": 16, "n_epochs": 2}
    tell(study, read_results(write(tmp_path / "job.json", json.dumps(running)), ()))
    made = trials_frame(study)
    assert list(made["batch_size_auto"]) == [True, False, True, False]
    return made


def written(frame: pd.DataFrame, format: str) -> bytes:
    stream = io.BytesIO()
    write_frame(frame, format, stream)
    return stream.getvalue()


def test_csv_lines_end_in_lf_on_every_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "linesep", "\r\n")  # as on Windows, pandas' default terminator
    table = pd.DataFrame({"key": ["s-0000", "s-0001"], "error": [None, "bad, line 3"]})
    assert written(table, "csv") == b'key,error\ns-0000,\ns-0001,"bad, line 3"\n'


def test_csv_round_trip(frame: pd.DataFrame) -> None:
    back = pd.read_csv(io.BytesIO(written(frame, "csv")))
    assert list(back.columns) == list(frame.columns)
    assert list(back["key"]) == ["s-0000", "s-0001", "s-0002", "s-0003"]
    assert list(back["batch_size"].astype(str)) == ["auto", "8", "auto", "8"]
    assert list(back["batch_size_auto"]) == [True, False, True, False]
    assert back["full_valid_loss"][0] == 0.5
    assert back["trained_tokens"][0] == 1000
    assert back["error"][1] == "invalid_training_file: line 3"
    started = pd.to_datetime(back["started"], utc=True)
    assert list(started) == list(frame["started"])


def test_json_round_trip(frame: pd.DataFrame) -> None:
    text = written(frame, "json")
    assert text.endswith(b"\n")
    records = json.loads(text)
    assert [list(r) for r in records] == [list(frame.columns)] * 4
    assert [r["batch_size"] for r in records] == ["auto", 8, "auto", 8]
    assert [r["batch_size_auto"] for r in records] == [True, False, True, False]
    assert records[2]["resolved_batch_size"] == 16
    assert [r["state"] for r in records] == ["complete", "fail", "running", "running"]
    assert records[0]["trained_tokens"] == 1000 and records[1]["trained_tokens"] is None
    assert records[2]["completed"] is None
    back = pd.read_json(io.BytesIO(text), orient="records")
    assert list(back["key"]) == list(frame["key"])
    assert list(pd.to_datetime(back["started"], utc=True)) == list(frame["started"])


def test_json_of_an_empty_frame_is_an_empty_list(tmp_path: Path) -> None:
    empty = trials_frame(created(make_study(tmp_path, sweep_text())))
    assert json.loads(written(empty, "json")) == []


def test_json_floats_read_back_exactly(tmp_path: Path) -> None:
    """pandas' JSON kept 10 digits: a float of the frame no longer matched what was sent/told."""
    study = make_study(tmp_path, sweep_text(strategy="random", space=BETA_SPACE, method="dpo"))
    study.ask(3)
    losses = [0.12345678901234567, 1 / 3, 2.718281828459045]
    tell(study, [result(trial=n, values={"full_valid_loss": v}) for n, v in enumerate(losses)])
    text = written(trials_frame(study), "json")
    assert [r["full_valid_loss"] for r in json.loads(text)] == losses


def test_parquet_keeps_auto_beside_numbers_numeric(frame: pd.DataFrame) -> None:
    back = pd.read_parquet(io.BytesIO(written(frame, "parquet")))
    assert list(back.columns) == list(frame.columns)
    assert back["batch_size"].dtype == "Int64"
    assert list(back["batch_size"].fillna(-1)) == [-1, 8, -1, 8]
    assert list(back["batch_size_auto"]) == [True, False, True, False]
    assert back["batch_size"].mean() == 8
    assert back["resolved_batch_size"].dtype == "Int64"
    assert back["resolved_batch_size"][2] == 16
    assert list(back["n_epochs"]) == [1, 1, 2, 2]
    assert back["trained_tokens"].dtype == "Int64"
    assert back["trained_tokens"][0] == 1000
    assert list(back["started"]) == list(frame["started"])
    assert back["full_valid_loss"][0] == 0.5


def test_parquet_of_an_empty_frame(tmp_path: Path) -> None:
    empty = trials_frame(created(make_study(tmp_path, sweep_text())))
    back = pd.read_parquet(io.BytesIO(written(empty, "parquet")))
    assert list(back.columns) == list(empty.columns)
    assert len(back) == 0
    import pyarrow.parquet as pq

    schema = pq.read_schema(io.BytesIO(written(empty, "parquet")))
    types = {name: str(schema.field(name).type) for name in schema.names}
    assert "null" not in types.values(), types
    assert types["batch_size"] == types["resolved_n_epochs"] == "int64"
    assert types["batch_size_auto"] == "bool"
    assert {types["key"], types["job_id"], types["error"]} <= {"string", "large_string"}
    assert types["full_valid_loss"] == types["resolved_learning_rate_multiplier"] == "double"
    assert types["started"].startswith("timestamp") and "tz=UTC" in types["started"]


def test_an_unknown_format_is_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(OutputError, match="unknown format 'xlsx'"):
        written(frame, "xlsx")

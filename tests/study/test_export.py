"""Writing a trials DataFrame as CSV, JSON or Parquet (`ftsweep.study.export`)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftsweep.api.hyperparameters import AUTO
from ftsweep.errors import OutputError
from ftsweep.study import SweepStudy, import_jobs, read_results, tell, trials_frame
from ftsweep.study.export import write_frame, write_trials
from ftsweep.study.frame import dtypes
from ftsweep.study.table import table_columns, trial_records
from ftsweep.sweep import Sweep, loads_sweep

from .store.test_journal_replay import UNION
from .test_feedback import MULTI, job_object, write
from .test_frame import REINFORCEMENT
from .test_imports import SPACE as IMPORT_SPACE
from .test_imports import job, jsonl
from .test_study import CONTINUOUS_SPACE, GRID_SPACE, created, make_study, result, sweep_text

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


# -- the records' writers write what the DataFrame's wrote -----------------------------------


def frame_before(sweep: Sweep, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The DataFrame as `trials_frame` built it before the table was typed without pandas (the
    code of commit 16d6cf1, `frame.trials_frame` and `_typed`): the reference."""
    types = dtypes(sweep)
    frame = pd.DataFrame.from_records(records, columns=list(types))
    for name, dtype in types.items():
        frame[name] = _typed_before(frame[name], dtype, f"{name}_auto" in types)
    return frame


def _typed_before(column: pd.Series, dtype: str, auto: bool) -> pd.Series:
    if dtype.startswith("datetime"):
        return pd.to_datetime(column, utc=True)
    if auto:
        column = column.astype(object).where(column != AUTO, None)
    if dtype == "object":
        return column.astype(object).where(column.notna(), None)
    try:
        return column.astype(pd.api.types.pandas_dtype(dtype))
    except (TypeError, ValueError):
        return column


def trials_bytes(sweep: Sweep, records: Sequence[Mapping[str, Any]], format: str) -> bytes:
    stream = io.BytesIO()
    write_trials(sweep, records, format, stream)
    return stream.getvalue()


def assert_written_as_before(sweep: Sweep, records: Sequence[Mapping[str, Any]]) -> None:
    before = frame_before(sweep, records)
    for format in ("csv", "json"):
        assert trials_bytes(sweep, records, format) == written(before, format), format


ERRORS = ['invalid_training_file: line 3, column 2: "x" expected\nsecond line', "a\r\nb"]


def told_mix(directory: Path) -> SweepStudy:
    """Auto beside numbers; complete, failed, cancelled and running trials; resolved values
    that are numbers, "auto" (a job not started) and a float for an integer; errors to quote."""
    study = make_study(directory, sweep_text(space=GRID_SPACE))
    study.ask(6)
    running = job_object("s-0002", id="ftjob-2", status="running")
    running["method"]["supervised"]["hyperparameters"] = {"n_epochs": "auto", "batch_size": 16}
    done = job_object("s-0003", id="ftjob-3", status="succeeded", finished_at=1754003600)
    done["method"]["supervised"]["hyperparameters"] = {"n_epochs": 2.0, "batch_size": 8}
    jobs = write(directory / "jobs.jsonl", f"{json.dumps(running)}\n{json.dumps(done)}\n")
    tell(study, read_results(jobs, ()))
    loss = {"full_valid_loss": 0.1 + 0.2}
    tell(
        study,
        [
            result(trial=0, values=loss, trained_tokens=2**40, job_id='ftjob-0,"a"'),
            result(trial=1, status="failed", error=ERRORS[0]),
            result(trial=3, values={"full_valid_loss": 1e-7}, trained_tokens=0),
            result(trial=4, status="cancelled", error=ERRORS[1]),
        ],
    )
    return study


def plain_optuna_states(directory: Path) -> SweepStudy:
    """Trials plain Optuna finished, pruned and complete (with an infinite value, which Optuna's
    journal writes as null); a replaced trial."""
    import optuna
    from optuna.trial import TrialState

    study = make_study(directory, sweep_text(space=GRID_SPACE))
    study.ask(4)
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    tell(study, [result(trial=0, values={"full_valid_loss": 0.25})], force=True)
    raw = optuna.load_study(study_name="s", storage=study.store.storage)
    raw.tell(1, state=TrialState.PRUNED)
    raw.tell(2, float("inf"))
    return study


def imported(directory: Path) -> SweepStudy:
    """Only jobs run outside ftsweep: times in whole seconds, resolved values given."""
    study = make_study(directory, sweep_text(space=IMPORT_SPACE))
    jobs = [job("ftjob-a"), job("ftjob-b", status="failed", n_epochs=3, batch_size=8)]
    import_jobs(study, read_results(jsonl(directory / "jobs.jsonl", *jobs), ()))
    return study


def multi_objective(directory: Path) -> SweepStudy:
    study = make_study(
        directory, sweep_text(strategy="random", space=CONTINUOUS_SPACE, extra=MULTI)
    )
    study.ask(4)
    values = {"full_valid_loss": 2 / 3, "full_valid_mean_token_accuracy": 0.5}
    tell(study, [result(trial=n, values=values, trained_tokens=10 * n) for n in (0, 2)])
    return study


def zipped_union(directory: Path) -> SweepStudy:
    study = make_study(directory, sweep_text(strategy="random", space=UNION))
    study.ask(8)
    tell(study, [result(trial=n, values={"full_valid_loss": n / 7}) for n in range(0, 8, 2)])
    return study


def reinforcement(directory: Path) -> SweepStudy:
    study = make_study(directory, REINFORCEMENT)
    study.ask(3)
    values = {"valid_reward_mean": 0.75}
    tell(study, [result(trial=0, values=values, trained_tokens=5)])
    return study


def pruned(directory: Path) -> SweepStudy:
    """A sweep with `prune:`: a trial pruned (with and without an estimate of what it saved),
    one decided but finished first, one running with a curve."""
    from ftsweep.study.records import Finish, MarkPruned, Pruned, Report, State

    study = make_study(directory, sweep_text(space=GRID_SPACE, extra="prune: {}\n"))
    study.ask(5)
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5}), result(trial=3, values={})])
    stopped = Pruned(step=4, progress=32, value=2.25, saved_tokens=1000, saved_cost=0.005)
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply(
            [
                Report(1, {32: 2.25}),
                MarkPruned(1, stopped),
                Finish(1, State.PRUNED),
                MarkPruned(2, Pruned(step=2, progress=2, value=1.0)),
                Finish(2, State.PRUNED),
                MarkPruned(3, stopped),  # its job succeeded before the cancel took
                Report(4, {8: 1.5}),
            ]
        )
    tell(study, [result(trial=3, values={"full_valid_loss": 0.75})])
    return study


STUDIES: dict[str, Callable[[Path], SweepStudy]] = {
    "pruned": pruned,
    "empty": lambda d: created(make_study(d, sweep_text())),
    "told mix": told_mix,
    "plain optuna states": plain_optuna_states,
    "imported": imported,
    "multi-objective": multi_objective,
    "zip groups in a union": zipped_union,
    "reinforcement": reinforcement,
    "dpo": lambda d: _asked(
        make_study(d, sweep_text(strategy="random", space=BETA_SPACE, method="dpo"))
    ),
}


def _asked(study: SweepStudy) -> SweepStudy:
    study.ask(5)
    return study


@pytest.mark.parametrize("name", list(STUDIES))
def test_a_study_is_written_as_its_dataframe_was(name: str, tmp_path: Path) -> None:
    study = STUDIES[name](tmp_path)
    records = trial_records(study)
    assert_written_as_before(study.sweep, records)
    pd.testing.assert_frame_equal(trials_frame(study, records), frame_before(study.sweep, records))
    for format in ("csv", "json"):  # and the DataFrame is written as the records are
        assert written(trials_frame(study, records), format) == trials_bytes(
            study.sweep, records, format
        )


# Rows of every kind of value a column may hold, against the same reference. Left out, as the
# three differences `test_where_the_dataframe_lost_or_failed` pins: integers beyond 2**53 in a
# column with missing values (the reference rounded them through float64), text of digits in a
# number column (the reference parsed it), infinity in an integer column (the reference failed).
ROWS_SWEEP = sweep_text(
    strategy="random",
    space=(
        "  n_epochs: [1, 2, 3]\n  batch_size: [auto, 8]\n"
        "  learning_rate_multiplier: {low: 0.1, high: 4.0, log: true, auto: true}\n"
        "  model: [gpt-4.1-mini-2025-04-14, gpt-4.1-2025-04-14]\n"
    ),
    extra=MULTI,
)
_INTS = st.integers(-(2**53), 2**53)
_FLOATS = st.floats()
_WORDS = st.text(alphabet="autoxyz", min_size=1, max_size=5)
_TEXT = st.text(alphabet=list("ab ,\"'\n\r\t;é…"), max_size=8)
_TIMES = st.builds(
    lambda seconds, micro: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(0, seconds, micro),
    st.integers(0, 4_000_000_000),
    st.sampled_from([0, 1000, 250_000]) | st.integers(0, 999_999),
)
_VALUES = {
    "int": st.none() | _INTS | _INTS.map(float) | st.floats(-(2.0**53), 2.0**53) | _WORDS,
    "float": st.none() | _FLOATS | _INTS | _WORDS,
    "text": st.none() | _TEXT | _FLOATS | _INTS,
    "time": st.none() | _TIMES,
}


@st.composite
def rows_of(draw: st.DrawFn, sweep: Sweep) -> list[dict[str, Any]]:
    """Rows as `records_of` makes them (a flag says whether its dimension holds "auto")."""
    rows: list[dict[str, Any]] = []
    for number in range(draw(st.integers(0, 6))):
        row: dict[str, Any] = {}
        for column in table_columns(sweep):
            if column.required:
                row[column.name] = number
            elif column.kind == "flag":
                dimension = row[column.name.removesuffix("_auto")]
                row[column.name] = None if dimension is None else dimension == AUTO
            elif column.auto:
                numbers = _INTS if column.kind == "int" else st.floats(allow_nan=False)
                row[column.name] = draw(st.none() | st.just(AUTO) | numbers)
            else:
                row[column.name] = draw(_VALUES[column.kind])
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_rows_are_written_as_their_dataframe_was(data: st.DataObject) -> None:
    sweep = loads_sweep(ROWS_SWEEP)
    assert_written_as_before(sweep, data.draw(rows_of(sweep)))


@pytest.mark.parametrize(
    ("value", "csv", "json_value"),
    [
        (2**53 + 1, "9007199254740993", 2**53 + 1),  # the reference wrote 9007199254740992
        ("3", "3", "3"),  # the reference wrote 3 in JSON: text stays text
        (float("inf"), "inf", None),  # the reference raised OverflowError
    ],
)
def test_where_the_dataframe_lost_or_failed(value: Any, csv: str, json_value: Any) -> None:
    sweep = loads_sweep(ROWS_SWEEP)
    rows = [{c.name: None for c in table_columns(sweep)} for _ in range(2)]
    rows[0].update(number=0, trained_tokens=value)
    rows[1].update(number=1)
    text = trials_bytes(sweep, rows, "csv").decode().splitlines()
    names = text[0].split(",")
    assert text[1].split(",")[names.index("trained_tokens")] == csv
    assert json.loads(trials_bytes(sweep, rows, "json"))[0]["trained_tokens"] == json_value

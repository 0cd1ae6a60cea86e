"""Reading result files: CSV rows, JSONL, JSON, per-step result files, and every problem."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import ResultsError
from ftsweep.study.results import Result, TrialRef, read_results
from ftsweep.sweep.spec import Objective

from .test_job_results import FAILED_ERROR, job

LOSS = [Objective(metric="full_valid_loss")]
TWO = [Objective(metric="full_valid_loss"), Objective(metric="valid_mean_token_accuracy")]
REWARD = [Objective(metric="valid_reward_mean")]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, objectives: list[Objective], **kw: Any) -> list[str]:
    """Every problem read_results reports, rendered without the file name."""
    with pytest.raises(ResultsError) as exc:
        read_results(path, objectives, **kw)
    assert str(exc.value).startswith(f"{path}: {len(exc.value.problems)} problem")
    return [p.render() for p in exc.value.problems]


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"trial": None, "key": None, "job_id": None, "status": "succeeded"}
    base |= {"values": {}, "trained_tokens": None, "error": None}
    return base | fields


def plain(result: Result) -> dict[str, Any]:
    return {
        name: getattr(result, name)
        for name in ("trial", "key", "job_id", "status", "values", "trained_tokens", "error")
    }


# --- CSV rows ---------------------------------------------------------------------------------

CSV = """\
trial,ftsweep_trial,job_id,full_valid_loss,status,trained_tokens,error,notes
0,sft-0000,ftjob-a,0.42,succeeded,1000,,first
1,,,0.40,,2000,,
2,,,,failed,,invalid_training_file: bad line 3,
,sft-0003,,,CANCELLED,,,
,,ftjob-e,0.5,running,,,
7.0,,,0.38,Succeeded,3000.0,,
"""


def test_csv_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "results.csv", CSV)
    results = read_results(path, LOSS)
    assert [(r.source, r.row) for r in results] == [(str(path), n) for n in range(2, 8)]
    assert [plain(r) for r in results] == [
        row(trial=0, key="sft-0000", job_id="ftjob-a", values={"full_valid_loss": 0.42})
        | {"trained_tokens": 1000},
        row(trial=1, values={"full_valid_loss": 0.40}, trained_tokens=2000),
        row(trial=2, status="failed", error="invalid_training_file: bad line 3"),
        row(key="sft-0003", status="cancelled"),
        row(job_id="ftjob-e", status=None),
        row(trial=7, values={"full_valid_loss": 0.38}, trained_tokens=3000),
    ]
    assert all(r.resolved == {} and r.job is None for r in results)
    assert [r.ref for r in results[:3]] == [
        TrialRef("key", "sft-0000"),
        TrialRef("trial", 1),
        TrialRef("trial", 2),
    ]


def test_csv_source_is_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "r.csv", "trial,full_valid_loss\n0,1\n")
    monkeypatch.chdir(tmp_path)
    assert read_results("./r.csv", LOSS)[0].source == "./r.csv"


def test_csv_scores_prefix_blank_lines_and_spaces(tmp_path: Path) -> None:
    text = " trial , scores.valid_reward_mean ,extra\n\n 3 , 0.75 ,x\n\n4,0.5,\n"
    results = read_results(write(tmp_path, "r.csv", text), REWARD)
    assert [(r.row, r.trial, r.values) for r in results] == [
        (3, 3, {"valid_reward_mean": 0.75}),
        (5, 4, {"valid_reward_mean": 0.5}),
    ]


def test_csv_problems_are_all_listed(tmp_path: Path) -> None:
    text = """\
trial,full_valid_loss,valid_mean_token_accuracy,status,trained_tokens
x,0.5,0.9,,
1,nan,0.9,succeeded,-5
2,,inf,,
3,0.5,0.9,done,
,0.5,0.9,,
4,0.5,0.9,failed,1.5
"""
    assert problems_of(write(tmp_path, "r.csv", text), TWO) == [
        ":2: trial: must be a whole number >= 0 (got 'x')",
        ":3: full_valid_loss: must be a finite number (a run that diverged is a failed row)"
        " (got 'nan')",
        ":3: trained_tokens: must be a whole number >= 0 (got '-5')",
        ":4: full_valid_loss: no value; a row that succeeded needs every objective metric",
        ":4: valid_mean_token_accuracy: must be a finite number (a run that diverged is a"
        " failed row) (got 'inf')",
        ":5: status: must be succeeded, failed or cancelled (or validating_files, queued, "
        "running or paused for a job not finished yet) (got 'done')",
        ":6: trial: the row names no trial: give its trial number, ftsweep_trial key or job_id",
        ":7: trained_tokens: must be a whole number >= 0 (got '1.5')",
    ]


def test_csv_without_a_trial_column(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "name,full_valid_loss\na,0.5\nb,0.4\n")
    with pytest.raises(ResultsError, match=r"r.csv: 1 problem, nothing was told") as exc:
        read_results(path, LOSS)
    (problem,) = exc.value.problems
    assert (problem.loc, problem.line) == (("trial",), 1)
    assert problem.message == (
        "no trial, ftsweep_trial or job_id column names each row's trial (a per-step result "
        "file has a step column instead); the columns are: name, full_valid_loss"
    )


def test_csv_without_a_metric_column(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "trial,status,valid_loss\n0,,0.5\n1,,0.4\n2,failed,\n")
    assert problems_of(path, LOSS) == [
        ":1: full_valid_loss: no full_valid_loss or scores.full_valid_loss column; a row that "
        "succeeded needs every objective metric"
    ]


def test_csv_metric_column_is_not_needed_when_no_row_succeeded(tmp_path: Path) -> None:
    text = "job_id,status,error\nftjob-a,failed,server_error: boom\nftjob-b,cancelled,\n"
    results = read_results(write(tmp_path, "r.csv", text), LOSS)
    assert [(r.job_id, r.status, r.values, r.error) for r in results] == [
        ("ftjob-a", "failed", {}, "server_error: boom"),
        ("ftjob-b", "cancelled", {}, None),
    ]


def test_metrics_of_rows_that_did_not_succeed_are_ignored(tmp_path: Path) -> None:
    text = "trial,full_valid_loss,status\n0,nan,failed\n1,junk,queued\n"
    results = read_results(write(tmp_path, "r.csv", text), LOSS)
    assert [(r.status, r.values) for r in results] == [("failed", {}), (None, {})]


@pytest.mark.parametrize("text", ["", "trial,full_valid_loss\n", "trial,full_valid_loss\n\n,\n"])
def test_csv_without_rows(tmp_path: Path, text: str) -> None:
    assert problems_of(write(tmp_path, "r.csv", text), LOSS) == [
        "(top level): the file holds no results"
    ]


def test_a_trial_argument_is_only_for_per_step_files(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "trial,full_valid_loss\n0,0.5\n")
    assert problems_of(path, LOSS, trial=3) == [
        "trial: this file names its own trials: pass a trial only with a per-step result file"
        " (got 3)"
    ]


def test_csv_syntax(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", 'trial,full_valid_loss\n0,0.5\n1,"0.4"x\n')
    assert problems_of(path, LOSS) == [":3: (top level): CSV syntax: ',' expected after '\"'"]


def test_csv_rows_with_more_or_fewer_fields_than_the_header(tmp_path: Path) -> None:
    text = "trial,full_valid_loss,status,error\n0,0.5,,\n1,0.4,failed,a,b\n2,0.3\n3,x,,\n"
    assert problems_of(write(tmp_path, "r.csv", text), LOSS) == [
        ":3: (top level): row has 5 fields, the header 4",
        ":4: (top level): row has 2 fields, the header 4",
        ":5: full_valid_loss: must be a finite number (a run that diverged is a failed row)"
        " (got 'x')",
    ]


def test_a_ragged_step_file_row(tmp_path: Path) -> None:
    path = write(tmp_path, "step.csv", "step,full_valid_loss\n1,0.5\n2,0.4,9\n")
    assert problems_of(path, LOSS, trial=0) == [":3: (top level): row has 3 fields, the header 2"]


def test_a_long_error_is_cut_to_its_start(tmp_path: Path) -> None:
    long = "e" * 2000 + "x" * 98_000
    text = f"trial,status,error\n0,failed,{long}\n1,failed,{'e' * 2000}\n"
    cut, kept = read_results(write(tmp_path, "r.csv", text), LOSS)
    assert cut.error == "e" * 2000 + " … (98,000 characters cut)"
    assert kept.error == "e" * 2000


def test_a_long_job_error_is_cut_to_its_start(tmp_path: Path) -> None:
    error = {"code": "server_error", "message": "m" * 5000}
    data = job(status="failed", error=error, fine_tuned_model=None)
    (result,) = read_results(write(tmp_path, "job.json", json.dumps(data)), LOSS)
    assert result.error == "server_error: " + "m" * 1986 + " … (3,014 characters cut)"


def test_a_number_and_a_key_naming_different_trials(tmp_path: Path) -> None:
    text = (
        "trial,ftsweep_trial,full_valid_loss\n"
        "3,sft-0003,0.5\n2,sft-0003,0.4\n4,other-4,0.3\n5,odd,0.2\n"
    )
    assert problems_of(write(tmp_path, "r.csv", text), LOSS) == [
        ":3: ftsweep_trial: sft-0003 (trial 3) and trial 2 name different trials: correct one, "
        "or give only one"
    ]
    jsonl = json.dumps({"trial": 1, "ftsweep_trial": "sft-0002", "full_valid_loss": 0.1})
    assert problems_of(write(tmp_path, "r.jsonl", jsonl + "\n"), LOSS) == [
        ":1: ftsweep_trial: sft-0002 (trial 2) and trial 1 name different trials: correct one, "
        "or give only one"
    ]


# --- JSONL ------------------------------------------------------------------------------------


def test_jsonl_rows_and_jobs(tmp_path: Path) -> None:
    lines = [
        {"ftsweep_trial": "sft-0001", "full_valid_loss": 0.5, "trained_tokens": 10},
        {"trial": 2, "scores": {"full_valid_loss": 0.25}, "status": "succeeded"},
        job(),
        {"job_id": "ftjob-x", "status": "failed", "error": FAILED_ERROR},
        job(status="running", id="ftjob-run", trained_tokens=None),
    ]
    text = "\n".join(json.dumps(line) for line in lines[:2]) + "\n\n"
    text += "\n".join(json.dumps(line) for line in lines[2:]) + "\n"
    results = read_results(write(tmp_path, "r.jsonl", text), LOSS)
    assert [r.row for r in results] == [1, 2, 4, 5, 6]
    assert [plain(r) for r in results] == [
        row(key="sft-0001", values={"full_valid_loss": 0.5}, trained_tokens=10),
        row(trial=2, values={"full_valid_loss": 0.25}),
        row(key="sft-0007", job_id="ftjob-abc123", trained_tokens=120_000),
        row(
            job_id="ftjob-x",
            status="failed",
            error="invalid_training_file: The file has 3 lines without a messages field.",
        ),
        row(key="sft-0007", job_id="ftjob-run", status=None),
    ]
    assert results[2].job is not None and results[2].job.id == "ftjob-abc123"
    assert results[2].resolved == {"batch_size": 8, "learning_rate_multiplier": 1.8, "n_epochs": 3}


def test_jsonl_problems(tmp_path: Path) -> None:
    text = "\n".join(
        [
            '{"trial": 0, "full_valid_loss": 0.5}',
            '{"trial": 1, "full_valid_loss": ',
            "[1, 2]",
            '{"object": "fine_tuning.job.event", "trial": 3}',
            '{"trial": true, "full_valid_loss": false, "job_id": 5}',
            json.dumps(job(status=7)),
            "{'trial': 6}",
        ]
    )
    assert problems_of(write(tmp_path, "r.jsonl", text), LOSS) == [
        ":2:33: (top level): JSON syntax: Expecting value",
        ":3: (top level): must be a JSON object: a result row or a job (got [1, 2])",
        ":4: object: is not a fine-tuning job nor a result row (got 'fine_tuning.job.event')",
        ":5: trial: must be a whole number >= 0 (got True)",
        ":5: job_id: must be a string (got 5)",
        ":5: full_valid_loss: must be a finite number (a run that diverged is a failed row)"
        " (got False)",
        ":6: status: Input should be a valid string (got 7)",
        ":7:2: (top level): JSON syntax: Expecting property name enclosed in double quotes",
    ]


def test_jsonl_with_only_blank_lines(tmp_path: Path) -> None:
    assert problems_of(write(tmp_path, "r.jsonl", "\n  \n"), LOSS) == [
        "(top level): the file holds no results"
    ]


# --- JSON -------------------------------------------------------------------------------------


def test_json_single_job(tmp_path: Path) -> None:
    (result,) = read_results(write(tmp_path, "job.json", json.dumps(job("dpo"))), LOSS)
    assert (result.row, result.job_id, result.status) == (1, "ftjob-abc123", "succeeded")
    assert result.resolved["beta"] == 0.1


def test_json_list_of_jobs_and_rows(tmp_path: Path) -> None:
    data = [job(), {"trial": 4, "full_valid_loss": "0.3"}]
    results = read_results(write(tmp_path, "r.json", json.dumps(data)), LOSS)
    assert [(r.row, r.ref, r.values) for r in results] == [
        (1, TrialRef("key", "sft-0007"), {}),
        (2, TrialRef("trial", 4), {"full_valid_loss": 0.3}),
    ]


def test_json_list_page(tmp_path: Path) -> None:
    page = {
        "object": "list",
        "data": [job(id="ftjob-1"), job(id="ftjob-2", status="cancelled")],
        "has_more": False,
    }
    results = read_results(write(tmp_path, "page.json", json.dumps(page)), LOSS)
    assert [(r.row, r.job_id, r.status) for r in results] == [
        (1, "ftjob-1", "succeeded"),
        (2, "ftjob-2", "cancelled"),
    ]


def test_json_problems_name_the_item(tmp_path: Path) -> None:
    bad = job(id="ftjob-2", trained_tokens="many")
    del bad["model"]
    page = {"object": "list", "data": [job(), bad, {"trial": 1}], "has_more": False}
    assert problems_of(write(tmp_path, "page.json", json.dumps(page)), LOSS) == [
        "data[1].model: is required in a job object",
        "data[1].trained_tokens: Input should be a valid integer, unable to parse string as an "
        "integer (got 'many')",
        "data[2].full_valid_loss: no value; a row that succeeded needs every objective metric",
    ]
    listed = write(tmp_path, "list.json", json.dumps([{"trial": 1, "full_valid_loss": "-"}]))
    assert problems_of(listed, LOSS) == [
        "[0].full_valid_loss: must be a finite number (a run that diverged is a failed row)"
        " (got '-')"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "(top level): the file holds no results"),
        ('{"object": "list", "data": []}', "(top level): the file holds no results"),
        ('{"object": "list", "data": {}}', "data: a list page holds a list in `data` (got {})"),
        ('[\n  {"trial": 1,\n  }\n]', ":3:3: (top level): JSON syntax: Expecting property name"),
        ('"text"', "(top level): must be a JSON object: a result row or a job (got 'text')"),
    ],
)
def test_json_file_problems(tmp_path: Path, text: str, expected: str) -> None:
    (problem,) = problems_of(write(tmp_path, "r.json", text), LOSS)
    assert problem.startswith(expected)


# --- per-step result files --------------------------------------------------------------------

STEP_CSV = """\
step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,full_valid_loss,\
full_valid_mean_token_accuracy
1,1.30,0.60,,,,
2,1.10,0.65,1.20,0.62,,
3,0.90,0.70,,,1.05,0.66
4,0.80,0.72,1.00,0.70,,
5,0.70,0.75,,,0.98,0.69
6,0.75,0.74,1.10,0.68,,
"""


@pytest.mark.parametrize(
    ("reduce", "loss", "accuracy"),
    [("last", 0.98, 0.68), ("min", 0.98, 0.62), ("max", 1.05, 0.70)],
)
def test_step_file_reduces_each_objective(
    tmp_path: Path, reduce: Any, loss: float, accuracy: float
) -> None:
    objectives = [
        Objective(metric="full_valid_loss", reduce=reduce),
        Objective(metric="valid_mean_token_accuracy", reduce=reduce),
    ]
    (result,) = read_results(write(tmp_path, "step.csv", STEP_CSV), objectives, trial=7)
    assert plain(result) == row(
        trial=7, values={"full_valid_loss": loss, "valid_mean_token_accuracy": accuracy}
    )
    assert (result.row, result.job, result.resolved) == (1, None, {})


@pytest.mark.parametrize(
    ("trial", "ref"),
    [
        (7, TrialRef("trial", 7)),
        ("12", TrialRef("trial", 12)),
        ("sft-0003", TrialRef("key", "sft-0003")),
    ],
)
def test_step_file_trial_argument(tmp_path: Path, trial: int | str, ref: TrialRef) -> None:
    (result,) = read_results(write(tmp_path, "step.csv", STEP_CSV), LOSS, trial=trial)
    assert result.ref == ref


@pytest.mark.parametrize(
    ("trial", "expected"),
    [
        (None, "trial: a per-step result file names no trial: pass its trial"),
        (-1, "trial: a trial number is a whole number >= 0 (got -1)"),
        ("  ", "trial: a trial key cannot be empty (got '  ')"),
    ],
)
def test_step_file_needs_a_trial(tmp_path: Path, trial: Any, expected: str) -> None:
    path = write(tmp_path, "step.csv", STEP_CSV)
    assert problems_of(path, LOSS, trial=trial) == [expected]


def test_base64_step_file(tmp_path: Path) -> None:
    encoded = base64.encodebytes(STEP_CSV.encode()).decode()  # wrapped lines, as the API sends
    path = write(tmp_path, "step_metrics.csv", encoded)
    (result,) = read_results(path, LOSS, trial="sft-0001")
    assert result.values == {"full_valid_loss": 0.98}


def test_reinforcement_step_file_with_scores_prefix(tmp_path: Path) -> None:
    text = "step,train_mean_reward,scores.valid_reward_mean\n1,0.2,\n2,0.3,0.35\n3,,\n4,0.5,0.45\n"
    objectives = [Objective(metric="valid_reward_mean", reduce="max")]
    (result,) = read_results(write(tmp_path, "rft.csv", text), objectives, trial=0)
    assert result.values == {"valid_reward_mean": 0.45}


def test_step_file_problems(tmp_path: Path) -> None:
    text = "step,valid_loss,full_valid_loss,train_loss\n1,,,0.5\nx,0.4,,0.4\n3,NaN,,0.3\n"
    objectives = [
        Objective(metric="valid_loss"),
        Objective(metric="full_valid_loss"),
        Objective(metric="train_mean_token_accuracy"),
    ]
    assert problems_of(write(tmp_path, "step.csv", text), objectives) == [
        "trial: a per-step result file names no trial: pass its trial",
        ":3: step: must be a whole number >= 0 (got 'x')",
        ":4: valid_loss: must be a finite number (a run that diverged is a failed row) (got 'NaN')",
        "full_valid_loss: no step has a value for this objective metric",
        ":1: train_mean_token_accuracy: no train_mean_token_accuracy or "
        "scores.train_mean_token_accuracy column; the columns are: step, valid_loss, "
        "full_valid_loss, train_loss",
    ]


def test_step_file_without_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "step.csv", "step,train_loss\n")
    assert problems_of(path, LOSS, trial=1) == ["(top level): the file holds no results"]


def test_a_step_column_beside_a_trial_column_is_a_row_file(tmp_path: Path) -> None:
    text = "trial,step,full_valid_loss\n3,100,0.5\n"
    (result,) = read_results(write(tmp_path, "r.csv", text), LOSS)
    assert (result.trial, result.values) == (3, {"full_valid_loss": 0.5})


# --- files and formats ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(ResultsError, match=r"absent.csv: \(top level\): no such file"):
        read_results(path, LOSS)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"cannot be read: Is a directory"):
        read_results(tmp_path, LOSS)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"trial,full_valid_loss\n0,\xff\n")
    with pytest.raises(ResultsError, match=r"is not UTF-8 text: invalid start byte at byte 24"):
        read_results(path, LOSS)


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbftrial,full_valid_loss\n0,0.5\n")
    assert read_results(path, LOSS)[0].trial == 0


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (json.dumps(job()), 1),
        (json.dumps([job(), job(id="ftjob-2")], indent=2), 2),
        (json.dumps(job()) + "\n" + json.dumps({"trial": 1, "full_valid_loss": 1}) + "\n", 2),
        ("trial,full_valid_loss\n0,0.5\n1,0.4\n2,0.3\n", 3),
    ],
)
def test_unknown_extensions_are_read_by_content(tmp_path: Path, text: str, count: int) -> None:
    assert len(read_results(write(tmp_path, "results.txt", text), LOSS)) == count


def test_unknown_extension_base64_step_file(tmp_path: Path) -> None:
    path = write(tmp_path, "file-abc123", base64.b64encode(STEP_CSV.encode()).decode())
    assert read_results(path, LOSS, trial=2)[0].values == {"full_valid_loss": 0.98}


def test_a_result_names_its_trial() -> None:
    with pytest.raises(ValueError, match="a Result names its trial by trial, key or job_id"):
        Result("x", 1, None, None, None, "succeeded", {}, None, None, {}, None)
    result = Result("x", 1, None, None, "ftjob-1", None, {}, None, None, {}, None)
    assert result.ref == TrialRef("job_id", "ftjob-1")

"""The trial runner end to end: `python -m ftsweep.local.runner OUT/job.json OUT/` as the
backend starts it, training the tiny model for real on the CPU."""

from __future__ import annotations

import csv
import fcntl
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.local.conftest import trainer_env, write_jsonl

QUESTIONS = [
    ("What is two plus two?", "Four."),
    ("Say yes or no.", "Yes."),
    ("Capital of France?", "Paris."),
]


def supervised_rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        question, answer = QUESTIONS[i % 3]
        rows.append(
            {
                "messages": [
                    {"role": "developer", "content": "Be brief."},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": "hello", "weight": 0},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return rows


def dpo_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "input": {"messages": [{"role": "user", "content": QUESTIONS[i % 3][0]}]},
            "preferred_output": [{"role": "assistant", "content": QUESTIONS[i % 3][1]}],
            "non_preferred_output": [{"role": "assistant", "content": "bad"}],
        }
        for i in range(n)
    ]


def reinforcement_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [{"role": "user", "content": QUESTIONS[i % 3][0]}],
            "answer": QUESTIONS[i % 3][1],
        }
        for i in range(n)
    ]


ROWS = {"supervised": supervised_rows, "dpo": dpo_rows, "reinforcement": reinforcement_rows}
GRADER = {
    "type": "string_check",
    "name": "exact",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
    "operation": "eq",
}


def make_trial(
    tmp_path: Path,
    model: Path | str,
    method: str,
    hyperparameters: dict[str, Any],
    *,
    rows: int = 12,
    validation: int | None = 6,
    **local: Any,
) -> Path:
    """OUT/ with job.json, as the backend writes it."""
    out = tmp_path / "out"
    out.mkdir(parents=True)
    train = write_jsonl(tmp_path / "train.jsonl", ROWS[method](rows))
    valid = write_jsonl(tmp_path / "valid.jsonl", ROWS[method](validation)) if validation else None
    spec: dict[str, Any] = {"hyperparameters": hyperparameters}
    if method == "reinforcement":
        spec["grader"] = GRADER
    body = {
        "model": "tiny",
        "training_file": "file-train",
        "validation_file": "file-valid" if valid else None,
        "seed": 7,
        "suffix": "t",
        "metadata": {"sweep": "s"},
        "method": {"type": method, method: spec},
    }
    settings = {
        "model": str(model),
        "training_file": str(train),
        "validation_file": str(valid) if valid else None,
        "base_learning_rate": {"supervised": 1e-3, "dpo": 1e-4, "reinforcement": 1e-4},
        "max_steps": None,
        "device": "cpu",
        "lora": None,
        "judge": None,
        "allow_python_grader": False,
        **local,
    }
    (out / "job.json").write_text(json.dumps({"body": body, "local": settings}))
    return out


def environment() -> dict[str, str]:
    return {**trainer_env(), "TOKENIZERS_PARALLELISM": "false"}


def start(
    out: Path, *, prelude: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The runner as the backend starts it; `prelude` runs first in the same process."""
    if prelude is None:
        command = [sys.executable, "-m", "ftsweep.local.runner", str(out / "job.json"), str(out)]
    else:
        main = "import sys\nfrom ftsweep.local.runner import main\nsys.exit(main(sys.argv[1:]))"
        code = f"{prelude}\n{main}"
        command = [sys.executable, "-c", code, str(out / "job.json"), str(out)]
    log = open(out / "runner.log", "ab")  # noqa: SIM115 - the child holds it
    with log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment() if env is None else env,
            start_new_session=True,
        )


def run(out: Path, **kwargs: Any) -> int:
    process = start(out, **kwargs)
    try:
        return process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()


def status(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "status.json").read_text()))


def metrics(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def result(out: Path) -> list[dict[str, str]]:
    with open(out / "result.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def log_of(out: Path) -> str:
    return (out / "runner.log").read_text(errors="replace")


def test_supervised_trial(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(tmp_path, tiny_model, "supervised", {"n_epochs": 2, "batch_size": 4})
    assert run(out) == 0, log_of(out)
    state = status(out)
    assert state["status"] == "succeeded" and state["error"] is None
    assert state["resolved"] == {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 1.0}
    assert state["trl"]["learning_rate"] == pytest.approx(1e-3)
    assert state["trl"]["per_device_train_batch_size"] == 4
    assert state["trl"]["num_train_epochs"] == 2 and state["trl"]["seed"] == 7
    assert state["total_steps"] == 6  # 12 rows / 4, two epochs
    assert state["trained_tokens"] > 0
    assert state["started_at"] <= state["finished_at"]
    assert int((out / "pid").read_text()) > 0
    records = metrics(out)
    assert {r["step"] for r in records if "train_loss" in r} == set(range(1, 7))
    assert all(r["total_steps"] == 6 for r in records)
    full = [r["step"] for r in records if "full_valid_loss" in r]
    assert full == [3, 6]  # each epoch end, on the whole validation file
    assert any("valid_mean_token_accuracy" in r for r in records)
    rows = result(out)
    assert list(rows[0]) == [
        "step",
        "train_loss",
        "train_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
        "full_valid_loss",
        "full_valid_mean_token_accuracy",
    ]
    assert [row["step"] for row in rows] == [str(s) for s in range(1, 7)]
    assert rows[0]["full_valid_loss"] == "" and rows[2]["full_valid_loss"] != ""
    losses = [float(row["train_loss"]) for row in rows]
    assert losses[-1] < losses[0]
    assert "Traceback" not in log_of(out)


def test_supervised_trained_tokens_sum_every_epoch(tmp_path: Path, tiny_model: Path) -> None:
    one = make_trial(
        tmp_path / "a", tiny_model, "supervised", {"n_epochs": 1, "batch_size": 4}, validation=None
    )
    three = make_trial(
        tmp_path / "b", tiny_model, "supervised", {"n_epochs": 3, "batch_size": 4}, validation=None
    )
    assert run(one) == 0 and run(three) == 0
    assert status(three)["trained_tokens"] == 3 * status(one)["trained_tokens"]
    assert "valid_loss" not in result(one)[0] or result(one)[0]["valid_loss"] == ""


def test_auto_values_are_resolved_and_max_steps_caps(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(tmp_path, tiny_model, "supervised", {}, max_steps=2, validation=None)
    assert run(out) == 0, log_of(out)
    state = status(out)
    assert state["resolved"] == {"n_epochs": 8, "batch_size": 1, "learning_rate_multiplier": 1.0}
    assert state["total_steps"] == 2 and state["trl"]["max_steps"] == 2
    assert [row["step"] for row in result(out)] == ["1", "2"]


def test_dpo_trial(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(tmp_path, tiny_model, "dpo", {"n_epochs": 1, "batch_size": 4, "beta": "auto"})
    assert run(out) == 0, log_of(out)
    state = status(out)
    assert state["status"] == "succeeded"
    assert state["resolved"]["beta"] == 0.1 and state["trl"]["beta"] == 0.1
    assert state["trained_tokens"] > 0 and state["total_steps"] == 3
    rows = result(out)
    assert [row["step"] for row in rows] == ["1", "2", "3"]
    assert all(row["train_loss"] for row in rows) and rows[-1]["full_valid_loss"]


def test_a_second_runner_exits_3_and_touches_nothing(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(tmp_path, tiny_model, "supervised", {"n_epochs": 1})
    with open(out / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert run(out) == 3
    assert sorted(p.name for p in out.iterdir()) == ["job.json", "lock", "runner.log"]


def test_a_trial_is_trained_once_and_never_after_a_cancel(tmp_path: Path, tiny_model: Path) -> None:
    """A runner started where one ran before (its pid is there: it may have died), or where
    the job was cancelled before its trainer got going, exits 3 and leaves everything as it was."""
    ran = make_trial(tmp_path / "ran", tiny_model, "supervised", {"n_epochs": 1})
    (ran / "pid").write_text("12345\n")
    assert run(ran) == 3
    assert not (ran / "status.json").exists() and (ran / "pid").read_text() == "12345\n"
    cancelled = make_trial(tmp_path / "cancelled", tiny_model, "supervised", {"n_epochs": 1})
    (cancelled / "cancel").touch()
    assert run(cancelled) == 3
    assert not (cancelled / "status.json").exists() and not (cancelled / "pid").exists()


def test_sigterm_cancels(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(
        tmp_path, tiny_model, "supervised", {"n_epochs": 25, "batch_size": 1}, validation=None
    )
    process = start(out)
    deadline = time.monotonic() + 120
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text():
        assert process.poll() is None, log_of(out)
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status(out)["status"] == "running"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    state = status(out)
    assert state["status"] == "cancelled" and state["finished_at"] is not None
    steps = len(result(out))
    assert 1 <= steps < 300
    assert state["trained_tokens"] > 0


def test_sigterm_before_training_cancels(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(tmp_path, tiny_model, "supervised", {"n_epochs": 1})
    process = start(out)
    while not (out / "status.json").exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert status(out)["status"] == "cancelled"


def test_a_broken_model_path_fails_readably(tmp_path: Path) -> None:
    out = make_trial(tmp_path, tmp_path / "no-such-model", "supervised", {"n_epochs": 1})
    assert run(out) == 1
    state = status(out)
    assert state["status"] == "failed" and state["finished_at"] is not None
    assert state["error"] == {
        "code": "model_not_found",
        "message": f"the model folder {tmp_path / 'no-such-model'} does not exist",
    }
    assert "Traceback" in log_of(out)


def test_a_hub_name_never_downloads(tmp_path: Path) -> None:
    """Without HF_HUB_OFFLINE too: the runner itself asks only the local cache."""
    out = make_trial(tmp_path, "ftsweep-test/not-cached", "supervised", {"n_epochs": 1})
    online = {k: v for k, v in environment().items() if k != "HF_HUB_OFFLINE"}
    online["HF_HOME"] = str(tmp_path / "hf-home")
    assert run(out, env=online) == 1
    error = status(out)["error"]
    assert error["code"] == "model_not_found"
    assert error["message"].startswith(
        "cannot load the model ftsweep-test/not-cached (not in the local Hugging Face cache): "
    )


def test_bad_rows_fail_naming_file_and_line(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(tmp_path, tiny_model, "supervised", {"n_epochs": 1})
    with open(tmp_path / "train.jsonl", "a") as handle:
        handle.write('{"messages": []}\n')
    assert run(out) == 1
    error = status(out)["error"]
    assert error == {
        "code": "invalid_file",
        "message": f"{tmp_path / 'train.jsonl'}:13: messages must be a non-empty list of messages",
    }


CRASH = """
import transformers
original = transformers.Trainer.training_step
def training_step(self, *args, **kwargs):
    if self.state.global_step >= 2:
        raise {error}("boom at step 2\\nsecond line")
    return original(self, *args, **kwargs)
transformers.Trainer.training_step = training_step
"""


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        ("RuntimeError", "training_error", "RuntimeError: boom at step 2"),
        (
            "__import__('torch').OutOfMemoryError",
            "out_of_memory",
            "OutOfMemoryError: boom at step 2",
        ),
    ],
)
def test_a_crash_mid_training_leaves_status_failed(
    tmp_path: Path, tiny_model: Path, error: str, code: str, message: str
) -> None:
    out = make_trial(tmp_path, tiny_model, "supervised", {"n_epochs": 3, "batch_size": 2})
    assert run(out, prelude=CRASH.format(error=error)) == 1
    state = status(out)
    assert state["status"] == "failed"
    assert state["error"] == {"code": code, "message": message}
    assert [row["step"] for row in result(out)] == ["1", "2"]
    assert "boom at step 2" in log_of(out)


def test_reinforcement_trial(tmp_path: Path, tiny_model: Path) -> None:
    hyperparameters = {"n_epochs": 1, "batch_size": 4, "compute_multiplier": 0.5, "eval_samples": 2}
    out = make_trial(
        tmp_path,
        tiny_model,
        "reinforcement",
        hyperparameters,
        rows=6,
        validation=4,
        max_completion_length=6,
    )
    assert run(out) == 0, log_of(out)
    state = status(out)
    assert state["status"] == "succeeded", state
    assert state["resolved"]["compute_multiplier"] == 0.5
    assert (
        state["resolved"]["eval_samples"] == 2
        and state["resolved"]["reasoning_effort"] == "default"
    )
    assert state["trl"]["num_generations"] == 2 and state["trl"]["max_completion_length"] == 6
    assert "beta" not in state["resolved"] and state["trained_tokens"] is None
    records = metrics(out)
    assert any("train_mean_reward" in r and "train_mean_reward/exact" in r for r in records)
    assert any("valid_reward_mean" in r for r in records)
    assert any("full_valid_mean_reward" in r for r in records)
    rows = result(out)
    assert list(rows[0])[:4] == [
        "step",
        "train_mean_reward",
        "valid_reward_mean",
        "full_valid_mean_reward",
    ]
    assert "train_mean_reward/exact" in rows[0]
    assert len(rows) == state["total_steps"]


def test_lora_trains_an_adapter(tmp_path: Path, tiny_model: Path) -> None:
    lora = {"r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]}
    out = make_trial(
        tmp_path,
        tiny_model,
        "supervised",
        {"n_epochs": 1, "batch_size": 4},
        lora=lora,
        validation=None,
    )
    assert run(out) == 0, log_of(out)
    assert status(out)["status"] == "succeeded"
    assert len(result(out)) == 3
    trained, total = re.search(
        r"model loaded \((\d+) of (\d+) parameters trained\)", log_of(out)
    ).groups()
    assert 0 < int(trained) < int(total) / 10


def test_the_weights_dtype_is_the_checkpoints_unless_set(tmp_path: Path, tiny_model: Path) -> None:
    out = make_trial(
        tmp_path, tiny_model, "supervised", {"n_epochs": 1}, validation=None, dtype="bfloat16"
    )
    assert run(out) == 0, log_of(out)
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved.get("dtype", saved.get("torch_dtype")) == "bfloat16"

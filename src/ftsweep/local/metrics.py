"""TRL's log records in OpenAI's metric names, and the result file built from them.

TRL log key -> training log, periodic evaluation, epoch-end evaluation on the whole file:

- `loss`, `eval_loss` -> `train_loss`, `valid_loss`, `full_valid_loss`
- `mean_token_accuracy`, `eval_mean_token_accuracy` -> `train_mean_token_accuracy`,
  `valid_mean_token_accuracy`, `full_valid_mean_token_accuracy`
- `reward`, `eval_reward` (GRPO) -> `train_mean_reward`, `valid_reward_mean`,
  `full_valid_mean_reward`
- `rewards/<grader>/mean`, `eval_rewards/<grader>/mean` -> `train_mean_reward/<grader>`,
  `valid_reward_mean/<grader>`, `full_valid_mean_reward/<grader>`

Every record also carries `step` (the optimizer step) and `total_steps`. Other keys (learning
rate, grad norm, DPO's `rewards/*`, runtimes) are left out; the summary record transformers logs
once training ends (an average `train_loss`) is skipped. DPO logs the same loss
names as supervised training. The result file (`result_csv`) has one row per step, OpenAI's
columns first (`train_accuracy` is `train_mean_token_accuracy`, as in the service's file), then
any other metric in the order it first appeared; a step without a value has an empty cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["LEADING_COLUMNS", "result_csv", "translate"]

_NAMES = {
    "loss": ("train_loss", "valid_loss", "full_valid_loss"),
    "mean_token_accuracy": (
        "train_mean_token_accuracy",
        "valid_mean_token_accuracy",
        "full_valid_mean_token_accuracy",
    ),
    "reward": ("train_mean_reward", "valid_reward_mean", "full_valid_mean_reward"),
}
#: The result file's first columns per method; `train_accuracy` reads train_mean_token_accuracy.
LEADING_COLUMNS: dict[str, tuple[str, ...]] = {
    "supervised": (
        "step",
        "train_loss",
        "train_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
        "full_valid_loss",
        "full_valid_mean_token_accuracy",
    ),
    "reinforcement": ("step", "train_mean_reward", "valid_reward_mean", "full_valid_mean_reward"),
}
LEADING_COLUMNS["dpo"] = LEADING_COLUMNS["supervised"]
_SOURCES = {"train_accuracy": "train_mean_token_accuracy"}


def _name(key: str, kind: int) -> str | None:
    """OpenAI's name for an unprefixed TRL key; kind 0 train, 1 valid, 2 full valid."""
    if key in _NAMES:
        return _NAMES[key][kind]
    if key.startswith("rewards/") and key.endswith("/mean"):
        grader = key[len("rewards/") : -len("/mean")]
        return f"{_NAMES['reward'][kind]}/{grader}"
    return None


def translate(logs: Mapping[str, Any], *, full: bool = False) -> dict[str, float]:
    """OpenAI-named metrics from one TRL log record (`full`: an epoch-end evaluation on the
    whole validation file); empty for a record with none, or the end-of-training summary."""
    if "train_loss" in logs:  # the end-of-training summary (periodic records say "loss")
        return {}
    out: dict[str, float] = {}
    for key, value in logs.items():
        if not isinstance(value, int | float):
            continue
        evaluation = key.startswith("eval_")
        name = _name(key.removeprefix("eval_"), (2 if full else 1) if evaluation else 0)
        if name is not None:
            out[name] = float(value)
    return out


def result_csv(method: str, records: Iterable[Mapping[str, Any]]) -> str:
    """The result file: one row per step, records of the same step merged."""
    steps: dict[int, dict[str, Any]] = {}
    seen: dict[str, None] = {}
    for record in records:
        row = steps.setdefault(int(record["step"]), {})
        for key, value in record.items():
            if key not in ("step", "total_steps"):
                row[key] = value
                seen[key] = None
    leading = LEADING_COLUMNS[method]
    covered = {_SOURCES.get(column, column) for column in leading}
    columns = [*leading, *(key for key in seen if key not in covered)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for step in sorted(steps):
        row = {**steps[step], "step": step}
        writer.writerow([_cell(row.get(_SOURCES.get(column, column))) for column in columns])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)

"""What a finished stand-in job reports: a deterministic function of what it was asked to do.

An `OutcomeFn` maps a job's resolved hyperparameters (and model, method, seed) to its final
objective: the last `full_valid_loss` for supervised and DPO jobs, the last `valid_reward_mean`
for reinforcement jobs. `step_rows` draws the per-step curve that ends there, which becomes the
job's metric events, checkpoints and result-file CSV (API_FACTS section 7).

The curve is a learning curve over the epochs trained: it falls (or, for a reward, rises) from
where every job starts towards its final value at a `learning_speed` set by the learning rate,
so that a job with a bad learning rate is visibly bad early: a small one learns slowly, towards
a poor final value; a large one drops fast and stalls at a poor one. That is what early
stopping (`prune:`) needs to be tried on.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Number = int | float
Row = dict[str, Number | None]

#: Columns of a supervised or DPO result file, in the service's order.
SUPERVISED_CSV_COLUMNS = (
    "step",
    "train_loss",
    "train_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
)
#: Columns of a reinforcement result file (the stand-in's choice; the service's is unpublished).
REINFORCEMENT_CSV_COLUMNS = (
    "step",
    "train_mean_reward",
    "valid_reward_mean",
    "full_valid_mean_parse_error",
)


@dataclass(frozen=True)
class TrialInput:
    """What decides a job's outcome; `hyperparameters` are the resolved values, no "auto"."""

    model: str
    method: str
    hyperparameters: Mapping[str, object]
    seed: int | None = None


OutcomeFn = Callable[[TrialInput], float]


def noise(trial: TrialInput, scale: float = 0.01) -> float:
    """A deterministic number in [-scale, scale] drawn from everything that defines the trial."""
    key = json.dumps(
        [trial.model, trial.method, sorted(trial.hyperparameters.items()), trial.seed],
        default=str,
    )
    digest = hashlib.sha256(key.encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    return scale * (2 * unit - 1)


def _number(trial: TrialInput, name: str, default: float) -> float:
    value = trial.hyperparameters.get(name, default)
    return float(value) if isinstance(value, int | float) else default


def smooth_loss(trial: TrialInput) -> float:
    """The default loss surface: lowest near learning_rate_multiplier 1 and n_epochs 3."""
    lrm = max(_number(trial, "learning_rate_multiplier", 1.0), 1e-6)
    epochs = _number(trial, "n_epochs", 3.0)
    batch = max(_number(trial, "batch_size", 8.0), 1.0)
    beta = _number(trial, "beta", 0.1)
    loss = 0.35 + 0.2 * math.log(lrm) ** 2 + 0.02 * (epochs - 3.0) ** 2
    loss += 0.01 * math.log2(batch / 8.0) ** 2 + 0.05 * (math.log10(beta / 0.1)) ** 2
    return loss + noise(trial)


def smooth_reward(trial: TrialInput) -> float:
    """The default reinforcement outcome: highest where `smooth_loss` is lowest, in (0, 1)."""
    return 1.0 / (1.0 + smooth_loss(trial))


def learning_speed(trial: TrialInput) -> float:
    """How fast a job's curve approaches its final value, per epoch: faster with a larger
    learning rate (e-folds per epoch: 2 at learning_rate_multiplier 1)."""
    return 2.0 * math.sqrt(max(_number(trial, "learning_rate_multiplier", 1.0), 1e-6))


def default_outcome(trial: TrialInput) -> float:
    """`smooth_reward` for reinforcement jobs, `smooth_loss` for the others."""
    return smooth_reward(trial) if trial.method == "reinforcement" else smooth_loss(trial)


def total_steps(n_examples: int, n_epochs: int, batch_size: int) -> int:
    """Optimizer steps of a job: epochs times batches per epoch."""
    return n_epochs * max(1, math.ceil(n_examples / batch_size))


def step_rows(
    method: str,
    final: float,
    steps: int,
    n_epochs: int,
    validated: bool = True,
    speed: float | None = None,
) -> list[Row]:
    """One metrics row per step, ending at `final`.

    With a validation file (`validated`), each epoch's last step also carries the validation
    and full-validation figures; without one, the validation figures are missing throughout.
    `speed` is the curve's approach per epoch (`learning_speed`); by default it covers four
    e-folds over the whole job, whatever its length.
    """
    per_epoch = max(1, steps // n_epochs)
    rate = (speed if speed is not None else 4.0 / n_epochs) * n_epochs  # over the whole job
    rows = []
    for step in range(1, steps + 1):
        progress = step / steps
        epoch_end = validated and (step % per_epoch == 0 or step == steps)
        if method == "reinforcement":
            rows.append(_reward_row(step, _curve(0.05, final, progress, rate), epoch_end))
        else:
            rows.append(_loss_row(step, _curve(2.5, final, progress, rate), epoch_end))
    return rows


def _curve(start: float, final: float, progress: float, rate: float) -> float:
    """An exponential approach from `start` to `final` as `progress` goes from 0 to 1, `rate`
    e-folds over the whole way (exactly `final` at its end)."""
    span = 1.0 - math.exp(-rate)
    return final + (start - final) * (math.exp(-rate * progress) - math.exp(-rate)) / span


def _loss_row(step: int, valid: float, epoch_end: bool) -> Row:
    train = valid * 0.9
    accuracy = 1.0 / (1.0 + valid)
    row: Row = {
        "step": step,
        "train_loss": round(train, 6),
        "train_mean_token_accuracy": round(1.0 / (1.0 + train), 6),
        "valid_loss": None,
        "valid_mean_token_accuracy": None,
    }
    if epoch_end:
        row["valid_loss"] = round(valid, 6)
        row["valid_mean_token_accuracy"] = round(accuracy, 6)
        row["full_valid_loss"] = round(valid, 6)
        row["full_valid_mean_token_accuracy"] = round(accuracy, 6)
    return row


def _reward_row(step: int, reward: float, epoch_end: bool) -> Row:
    row: Row = {
        "step": step,
        "train_mean_reward": round(reward * 0.98, 6),
        "valid_reward_mean": None,
        "full_valid_mean_parse_error": None,
    }
    if epoch_end:
        row["valid_reward_mean"] = round(reward, 6)
        row["full_valid_mean_reward"] = round(reward, 6)
        row["full_valid_mean_parse_error"] = 0.0
    return row


def result_csv(method: str, rows: list[Row]) -> str:
    """The result file's text: a header and one line per step, empty cells for missing figures."""
    columns = REINFORCEMENT_CSV_COLUMNS if method == "reinforcement" else SUPERVISED_CSV_COLUMNS
    lines = [",".join(columns)]
    for row in rows:
        lines.append(
            ",".join(_cell(row.get(_CSV_SOURCE.get(column, column))) for column in columns)
        )
    return "\n".join(lines) + "\n"


#: The CSV's `train_accuracy` is what events and checkpoints call `train_mean_token_accuracy`.
_CSV_SOURCE = {"train_accuracy": "train_mean_token_accuracy"}


def _cell(value: Number | None) -> str:
    return "" if value is None else str(value)

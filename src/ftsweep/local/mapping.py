"""A job body's hyperparameters as TRL config values: what a local trial trains with.

Pure Python (no torch, transformers or trl), so the backend can report resolved values cheaply:
`plan_trial(body, local, examples, validation_examples)` gives a `TrialPlan` whose `resolved` holds
the OpenAI names with the values actually used ("auto" replaced) and whose `trl` holds the
keyword arguments of `SFTConfig` / `DPOConfig` / `GRPOConfig` that follow from them.

OpenAI name -> TRL value: rule (auto: what "auto" becomes)

- `n_epochs` -> `num_train_epochs`: as given; auto: `auto_epochs(examples)`, the platform's
  published rule (`ftsweep.data.cost`).
- `batch_size` -> `per_device_train_batch_size` x `gradient_accumulation_steps` (one process):
  the largest divisor of batch_size up to `local.max_device_batch` (default 8) per device, the
  rest accumulated; auto: 0.2% of the examples rounded to a power of two, clamped to [1, 256]
  (so 1 below 750 examples, what the stand-in service reports).
- `learning_rate_multiplier` -> `learning_rate`: `local.base_learning_rate[method]` x
  multiplier; the bases default to TRL's own (SFTConfig 2e-5, DPOConfig 1e-6, GRPOConfig 1e-6
  in trl 1.16); auto: 1.0.
- `beta` (dpo) -> `DPOConfig.beta`: the same meaning; auto: 0.1, TRL's default.
  `GRPOConfig.beta` (a KL weight) is never set.
- `compute_multiplier` (reinforcement) -> `num_generations`, approximate: the divisor of
  batch_size (at least 2) nearest round(4 x multiplier); auto: 4.
- `batch_size` (reinforcement) counts completions: it is the generation batch,
  batch_size / num_generations prompts a step; auto: the rule above raised to a multiple of
  num_generations; a batch_size of 1 becomes 2 (GRPO needs two completions a prompt).
- `eval_interval` (reinforcement) -> `eval_steps`: as given; auto: about ten evaluations a
  run, ceil(planned steps / 10).
- `eval_samples` (reinforcement) -> rows of the validation file each evaluation uses,
  approximate; auto: 10.
- `reasoning_effort` (reinforcement) -> `chat_template_kwargs={"reasoning_effort": value}`,
  approximate: only templates that read it care; `default` passes nothing.
- supervised and DPO evaluation: `eval_steps` about ten times a run on `valid_rows` (a batch of
  the validation file's first rows) gives valid_*; the whole file at each epoch end gives
  full_valid_* (the runner's callback).
- `seed` (job body) -> `seed` and `data_seed`: as given; absent: 42, TRL's default.
- `local.max_steps` -> `max_steps`: a cap, set only when below the planned steps, so that it
  never adds epochs.

Planned steps follow transformers' own count: ceil(examples / per_device) micro-batches an epoch,
ceil of that / accumulation updates, x epochs (GRPO: floor(examples / prompts a step) updates an
epoch, its sampler dropping an incomplete group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ftsweep.data.cost import auto_epochs

__all__ = [
    "BASE_LEARNING_RATE",
    "METHODS",
    "MappingError",
    "TrialPlan",
    "auto_batch_size",
    "plan_trial",
    "split_batch",
]

METHODS = ("supervised", "dpo", "reinforcement")
#: TRL's default learning rates (trl 1.16: SFTConfig, DPOConfig, GRPOConfig).
BASE_LEARNING_RATE: dict[str, float] = {"supervised": 2e-5, "dpo": 1e-6, "reinforcement": 1e-6}
AUTO_BETA = 0.1
AUTO_GENERATIONS = 4
AUTO_EVAL_SAMPLES = 10
MAX_DEVICE_BATCH = 8
EVALUATIONS_PER_RUN = 10
DEFAULT_SEED = 42


class MappingError(ValueError):
    """A job body or local setting that no TRL configuration can follow."""


@dataclass(frozen=True)
class TrialPlan:
    """What one trial trains with: OpenAI names (`resolved`) and TRL config kwargs (`trl`)."""

    method: str
    resolved: dict[str, Any]
    trl: dict[str, Any]
    planned_steps: int
    valid_rows: int | None = None
    notes: list[str] = field(default_factory=list)


def auto_batch_size(examples: int) -> int:
    """Our rule for `batch_size: auto` (no public one): 0.2% of the examples, rounded to a power
    of two, clamped to [1, 256]."""
    target = examples * 0.002
    if target <= 1:
        return 1
    return int(min(256, 2 ** round(math.log2(target))))


def split_batch(batch_size: int, cap: int) -> tuple[int, int]:
    """(per-device batch, accumulation steps): the largest divisor of `batch_size` up to `cap`."""
    device = max(d for d in range(1, min(batch_size, cap) + 1) if batch_size % d == 0)
    return device, batch_size // device


def _target_generations(multiplier: Any) -> int:
    return AUTO_GENERATIONS if multiplier == "auto" else max(2, round(4 * float(multiplier)))


def _generations(batch_size: int, multiplier: Any) -> int:
    """The divisor of `batch_size` (at least 2) nearest the target; the larger on a tie."""
    target = _target_generations(multiplier)
    divisors = [d for d in range(2, batch_size + 1) if batch_size % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), -d))


def _hyperparameters(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    method = body.get("method") or {}
    kind = method.get("type")
    if kind not in METHODS:
        raise MappingError(f"method.type must be one of {', '.join(METHODS)}, but got {kind!r}")
    return kind, dict((method.get(kind) or {}).get("hyperparameters") or {})


def _updates(examples: int, device: int, accumulation: int, epochs: int) -> int:
    batches = math.ceil(examples / device)
    per_epoch = max(batches // accumulation + int(batches % accumulation > 0), 1)
    return math.ceil(epochs * per_epoch)


def _learning_rate(kind: str, multiplier: Any, local: Mapping[str, Any]) -> tuple[float, float]:
    value = 1.0 if multiplier == "auto" else float(multiplier)
    base = {**BASE_LEARNING_RATE, **(local.get("base_learning_rate") or {})}[kind]
    return value, float(base) * value


def _batch(kind: str, hp: Mapping[str, Any], examples: int) -> tuple[int, int | None]:
    """The batch size used, and num_generations for reinforcement."""
    given = hp.get("batch_size", "auto")
    batch = auto_batch_size(examples) if given == "auto" else int(given)
    if kind != "reinforcement":
        return batch, None
    multiplier = hp.get("compute_multiplier", "auto")
    if given == "auto":
        target = _target_generations(multiplier)
        batch = target * math.ceil(batch / target)
    batch = max(batch, 2)
    return batch, _generations(batch, multiplier)


def plan_trial(
    body: Mapping[str, Any],
    local: Mapping[str, Any],
    examples: int,
    validation_examples: int | None = None,
) -> TrialPlan:
    """The plan for the job `body` on a training file of `examples` rows (and a validation file
    of `validation_examples` rows, None when there is none), under the `local` settings."""
    kind, hp = _hyperparameters(body)
    if examples < 1:
        raise MappingError(f"the training file has no examples ({examples})")
    cap = int(local.get("max_device_batch") or MAX_DEVICE_BATCH)
    batch, generations = _batch(kind, hp, examples)
    device, accumulation = split_batch(batch, cap)
    epochs = auto_epochs(examples) if hp.get("n_epochs", "auto") == "auto" else int(hp["n_epochs"])
    multiplier, learning_rate = _learning_rate(
        kind, hp.get("learning_rate_multiplier", "auto"), local
    )
    resolved: dict[str, Any] = {
        "n_epochs": epochs,
        "batch_size": batch,
        "learning_rate_multiplier": multiplier,
    }
    seed = int(body.get("seed", DEFAULT_SEED) if body.get("seed") is not None else DEFAULT_SEED)
    trl: dict[str, Any] = {
        "learning_rate": learning_rate,
        "per_device_train_batch_size": device,
        "gradient_accumulation_steps": accumulation,
        "num_train_epochs": epochs,
        "seed": seed,
        "data_seed": seed,
    }
    if generations is None:
        planned = _updates(examples, device, accumulation, epochs)
    else:
        planned = max(1, examples // (batch // generations)) * epochs
    cap_steps = local.get("max_steps")
    if cap_steps is not None and int(cap_steps) < planned:
        trl["max_steps"] = int(cap_steps)
        planned = int(cap_steps)
    plan = TrialPlan(kind, resolved, trl, planned)
    if kind == "dpo":
        _plan_dpo(plan, hp)
    elif kind == "reinforcement":
        assert generations is not None
        _plan_reinforcement(plan, hp, generations, cap)
    return _plan_evaluation(plan, hp, validation_examples)


def _plan_dpo(plan: TrialPlan, hp: Mapping[str, Any]) -> None:
    beta = hp.get("beta", "auto")
    plan.resolved["beta"] = AUTO_BETA if beta == "auto" else float(beta)
    plan.trl["beta"] = plan.resolved["beta"]


def _plan_reinforcement(plan: TrialPlan, hp: Mapping[str, Any], generations: int, cap: int) -> None:
    multiplier = hp.get("compute_multiplier", "auto")
    plan.resolved["compute_multiplier"] = 1.0 if multiplier == "auto" else float(multiplier)
    plan.trl["num_generations"] = generations
    plan.trl["per_device_eval_batch_size"] = generations * max(1, cap // generations)
    effort = hp.get("reasoning_effort", "default")
    plan.resolved["reasoning_effort"] = effort
    if effort != "default":
        plan.trl["chat_template_kwargs"] = {"reasoning_effort": effort}
    plan.notes.append(
        f"compute_multiplier -> num_generations={generations} (approximate); eval_samples -> "
        "validation rows per evaluation (approximate)"
    )


def _plan_evaluation(
    plan: TrialPlan, hp: Mapping[str, Any], validation_examples: int | None
) -> TrialPlan:
    every = max(1, math.ceil(plan.planned_steps / EVALUATIONS_PER_RUN))
    if plan.method == "reinforcement":
        interval = hp.get("eval_interval", "auto")
        every = every if interval == "auto" else int(interval)
        samples = hp.get("eval_samples", "auto")
        rows = AUTO_EVAL_SAMPLES if samples == "auto" else int(samples)
        plan.resolved["eval_interval"] = every
        plan.resolved["eval_samples"] = rows
    else:
        rows = plan.resolved["batch_size"]
        plan.trl["per_device_eval_batch_size"] = plan.trl["per_device_train_batch_size"]
    if not validation_examples:
        plan.trl["eval_strategy"] = "no"
        return plan
    plan.trl["eval_strategy"] = "steps"
    plan.trl["eval_steps"] = every
    return replace(plan, valid_rows=min(rows, validation_examples))

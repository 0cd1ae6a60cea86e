"""The synthetic objective surfaces, over the real hyperparameter spaces of the three methods.

A surface is a sweep file's `space` (with "auto" options), what "auto" resolves to, a noise-free
objective of the resolved numbers (NaN where the job fails), the noise of what a job reports, and
a learning curve per configuration for the pruning figures. `bench/bench_search.py`'s docstring
says what each one models and why it is plausible; the formulas here are the truth.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

Columns = Mapping[str, np.ndarray]
Params = Mapping[str, Any]

#: reasoning_effort as a number; "default" is the model's own level, medium.
EFFORT = {"low": 0.0, "medium": 1.0, "high": 2.0, "default": 1.0}
CURVE_RATE = 3.0  # how fast a curve at speed 1 leaves its start, per epoch
MARKS = (0.25, 0.5)  # epochs at which a job reports before its first epoch ends
_COUNTS = frozenset({"n_epochs", "batch_size"})  # hyperparameters a job reports as integers


def auto_epochs(examples: int) -> int:
    """`n_epochs: auto` by the cookbook's rule (API_FACTS section 6)."""
    if examples * 3 < 100:
        return min(25, 100 // examples)
    if examples * 3 > 25_000:
        return max(1, 25_000 // examples)
    return 3


def auto_batch(examples: int) -> int:
    """`batch_size: auto` taken as about 0.2% of the training examples (no public rule)."""
    return max(1, min(256, round(0.002 * examples)))


def _loss(raw: np.ndarray, low: float, high: float) -> np.ndarray:
    """A loss from `low` (its optimum) plus penalties, bent softly so it never passes `high`."""
    return high - (high - low) * np.exp(-(raw - low) / (high - low))


def _reward(top: np.ndarray, penalty: np.ndarray, floor: float) -> np.ndarray:
    """A reward `top - penalty` near the top, bent softly so it never falls under `floor`."""
    return floor + (top - floor) * np.exp(-penalty / (top - floor))


def _sqrt_scaling(c: Columns) -> np.ndarray:
    lr, b, ep = c["learning_rate_multiplier"], c["batch_size"], c["n_epochs"]
    lr_star = 0.25 * np.sqrt(b)  # sqrt scaling: 1.0 at batch 16
    u = np.log(lr / lr_star)
    e_star = np.clip(4 * np.sqrt(lr_star / lr), 1, 10)  # a lower rate wants more epochs
    penalty = np.where(u < 0, 0.09, 0.14) * u**2 + 0.05 * np.log(ep / e_star) ** 2
    return _loss(0.62 + penalty + 0.02 * np.log(b / 32) ** 2, 0.62, 2.0)


def _beta_lr(c: Columns) -> np.ndarray:
    beta, lr = c["beta"], c["learning_rate_multiplier"]
    ep, b = c["n_epochs"], c["batch_size"]
    lr_star = 2.0 * np.sqrt(0.1 / beta)  # the gradient scales with beta
    v = np.log(lr / lr_star)
    e_star = np.clip(2 * np.sqrt(lr_star / lr), 1, 8)  # 1,200 pairs: overfits after ~2 epochs
    le = np.log(ep / e_star)
    penalty = np.where(v < 0, 0.07, 0.11) * v**2 + 0.03 * np.log(beta / 0.25) ** 2
    penalty = penalty + np.where(le < 0, 0.04, 0.10) * le**2 + 0.01 * np.log(b / 8) ** 2
    return _loss(0.45 + penalty, 0.45, 1.5)


def _effort_compute(c: Columns) -> np.ndarray:
    effort = c["reasoning_effort"].astype(int)
    cm, lr, ep = c["compute_multiplier"], c["learning_rate_multiplier"], c["n_epochs"]
    top = np.array([0.62, 0.70, 0.74])[effort]
    c_star = np.array([0.7, 1.5, 3.0])[effort]  # more effort makes use of more compute
    w = np.log(lr / 0.8)
    penalty = 0.04 * np.log(cm / c_star) ** 2 + np.where(w < 0, 0.06, 0.12) * w**2
    return _reward(top, penalty + 0.02 * np.log(ep / 2) ** 2, 0.3)


def _sharp(c: Columns) -> np.ndarray:
    lr, ep, b = c["learning_rate_multiplier"], c["n_epochs"], c["batch_size"]
    u = np.log(lr / (3.2 * np.sqrt(b / 4)))
    wide = 0.95 + 0.06 * u**2
    well = 0.5 * np.exp(-((u / 0.2) ** 2) - (np.log(ep / 6) / 0.25) ** 2)
    return _loss(wide - well + 0.01 * np.log(b / 4) ** 2, 0.45, 2.0)


def _flat(c: Columns) -> np.ndarray:
    lr, ep, b = c["learning_rate_multiplier"], c["n_epochs"], c["batch_size"]
    penalty = 0.006 * np.log(lr / 2) ** 2 + 0.01 * np.log(ep / 3) ** 2
    return 0.85 + penalty + 0.002 * np.log(b / 32) ** 2


def _diverge(c: Columns) -> np.ndarray:
    lr, b, ep = c["learning_rate_multiplier"], c["batch_size"], c["n_epochs"]
    lr_fail = 2.5 * np.sqrt(b / 8)  # the job diverges and fails above this
    u = np.log(lr / (0.75 * lr_fail))
    edge = np.where(u > 0, 0.5 * (u / np.log(4 / 3)) ** 4, 0.0)  # steep just below failing
    penalty = 0.08 * u**2 + edge + 0.03 * np.log(ep / 3) ** 2 + 0.01 * np.log(b / 16) ** 2
    return np.where(lr > lr_fail, np.nan, _loss(0.70 + penalty, 0.70, 2.0))


_LR = "learning_rate_multiplier: {low: 0.05, high: 10.0, log: true, auto: true}"
_GRADER = """\
grader:
  type: string_check
  name: exact
  input: "{{ sample.output_text }}"
  reference: "{{ item.answer }}"
  operation: eq
"""


@dataclass(frozen=True)
class Surface:
    """One synthetic fine-tuning problem: its sweep's space and what its jobs would report."""

    name: str
    method: str
    model: str
    examples: int  # training examples: auto epochs and batch size, examples seen, tokens
    tokens_per_example: int
    space: str  # the sweep file's space, one dimension a line
    auto: Mapping[str, float]  # what "auto" resolves to, for every hyperparameter it reads
    formula: Callable[[Columns], np.ndarray]
    start: float  # the metric before training: where every curve starts
    metric: str = "full_valid_loss"
    direction: str = "minimize"
    noise: float = 0.0  # sd of the reported value about the true one
    curve_noise: float = 0.004  # sd of each intermediate point about the curve
    extra: str = ""  # more sweep-file sections (a reinforcement grader)

    @cached_property
    def key(self) -> int:
        return zlib.crc32(self.name.encode())

    def sweep_text(self, strategy: str | None, budget: int, seed: int) -> str:
        """The sweep file; no `strategy:` line when `strategy` is None (the default)."""
        space = "".join(f"  {line}\n" for line in self.space.strip().splitlines())
        return (
            f"name: {self.name}\nmethod: {self.method}\nmodel: {self.model}\n"
            "training_file: file-x\nvalidation_file: file-v\n"
            + ("" if strategy is None else f"strategy: {strategy}\n")
            + f"max_trials: {budget}\nseed: {seed}\n"
            f"objective: {{metric: {self.metric}, direction: {self.direction}, reduce: last}}\n"
            f"space:\n{space}{self.extra}"
        )

    def resolved(self, params: Params) -> dict[str, float]:
        """The numbers a job trains with: "auto" (or an absent dimension) as `auto` says."""
        out = {}
        for name, auto in self.auto.items():
            value = params.get(name, "auto")
            if value == "auto":
                out[name] = auto
            else:
                out[name] = EFFORT[value] if isinstance(value, str) else float(value)
        return out

    def reported(self, params: Params) -> dict[str, int | float]:
        """The hyperparameters its job object reports (`method.<type>.hyperparameters`): the
        numbers it trained with, "auto" resolved; reasoning_effort is no number, so not here."""
        return {
            name: int(value) if name in _COUNTS else value
            for name, value in self.resolved(params).items()
            if name != "reasoning_effort"
        }

    def columns(self, configs: Sequence[Params]) -> dict[str, np.ndarray]:
        rows = [self.resolved(p) for p in configs]
        return {name: np.array([r[name] for r in rows]) for name in self.auto}

    def true_value(self, params: Params) -> float | None:
        """The noise-free objective; None where the job fails."""
        value = float(self.formula(self.columns([params]))[0])
        return None if np.isnan(value) else value

    def observed(self, params: Params, seed: int, number: int) -> float | None:
        """What trial `number` of run `seed` reports: the true value plus its noise."""
        value = self.true_value(params)
        if value is None or not self.noise:
            return value
        return value + float(self._rng(seed, number, 0).normal(0.0, self.noise))

    def better(self, a: float, b: float) -> bool:
        return a < b if self.direction == "minimize" else a > b

    def _rng(self, seed: int, number: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.key, seed, number, stream])

    def speed(self, r: Mapping[str, float]) -> float:
        """How fast a job leaves its start, relative to the all-auto job: faster with a larger
        rate, slower per example with larger batches (fewer steps)."""
        lr = r.get("learning_rate_multiplier", 1.0)
        batch = r.get("batch_size", self.auto.get("batch_size", 8.0))
        ratio = self.auto.get("batch_size", 8.0) / batch
        return float(np.clip(lr**0.6 * ratio**0.3, 0.2, 5.0))


@dataclass(frozen=True)
class Trajectory:
    """A job's reports as it trains: (examples seen, metric) at each point, the last where the
    job ends (complete, or failed when `fails`)."""

    points: tuple[tuple[float, float], ...]
    fails: bool
    tokens_per_example: int

    @property
    def end(self) -> float:
        return self.points[-1][0]


def trajectory(surface: Surface, params: Params, seed: int, number: int) -> Trajectory:
    """The curve of trial `number` of run `seed`, by examples seen: from `surface.start`
    towards the metric of a job of the epochs trained so far (so too many epochs show as a dip
    that rises again), faster for a higher rate and whatever the job's length; the gap left at
    the end closes over the job (its rate decays), points jitter, and the last one is exactly
    what the job reports."""
    r = surface.resolved(params)
    epochs = r["n_epochs"]
    marks = np.array([m for m in MARKS if m < epochs] + list(range(1, int(epochs) + 1)), float)
    true = surface.true_value(params)
    if true is None:
        return _failing(surface, marks)
    observed = surface.observed(params, seed, number)
    assert observed is not None
    along = {name: np.full(len(marks), value) for name, value in r.items()}
    f_at = surface.formula({**along, "n_epochs": marks})
    values = f_at + (surface.start - f_at) * np.exp(-CURVE_RATE * surface.speed(r) * marks)
    jitter = surface._rng(seed, number, 1).normal(0.0, surface.curve_noise, len(marks))
    values += (observed - values[-1]) * (marks / epochs) ** 2 + jitter
    values[-1] = observed
    points = tuple(zip((marks * surface.examples).tolist(), values.tolist(), strict=True))
    return Trajectory(points, False, surface.tokens_per_example)


def _failing(surface: Surface, marks: np.ndarray) -> Trajectory:
    """A diverging job: a brief improvement, then the metric runs away (to a loss of 2, a
    reward of 0.3) until the job fails, at the first report past 30% of its epochs."""
    stop = int(np.searchsorted(marks, 0.3 * marks[-1]))
    q = marks[: stop + 1] / marks[stop]
    if surface.direction == "minimize":
        low = 0.85 * surface.start
        values = low + (2.0 - low) * q**2
    else:
        high = 1.15 * surface.start
        values = high + (0.3 - high) * q**2
    xs = (marks[: stop + 1] * surface.examples).tolist()
    points = tuple(zip(xs, values.tolist(), strict=True))
    return Trajectory(points, True, surface.tokens_per_example)


def _rl(name: str, space: str, formula: Callable[[Columns], np.ndarray]) -> Surface:
    return Surface(
        name=name,
        method="reinforcement",
        model="o3-mini-2025-01-31",
        examples=500,
        tokens_per_example=1_500,
        space=space,
        auto={
            "reasoning_effort": EFFORT["default"],
            "compute_multiplier": 1.0,
            "learning_rate_multiplier": 1.0,
            "n_epochs": auto_epochs(500),
        },
        formula=formula,
        start=0.40,
        metric="valid_reward_mean",
        direction="maximize",
        noise=0.02,
        curve_noise=0.015,
        extra=_GRADER,
    )


def _sft(
    name: str,
    examples: int,
    space: str,
    formula: Callable[[Columns], np.ndarray],
    start: float,
    tokens: int,
) -> Surface:
    return Surface(
        name=name,
        method="supervised",
        model="gpt-4.1-mini-2025-04-14",
        examples=examples,
        tokens_per_example=tokens,
        space=space,
        auto={
            "learning_rate_multiplier": 1.0,
            "batch_size": auto_batch(examples),
            "n_epochs": auto_epochs(examples),
        },
        formula=formula,
        start=start,
    )


SURFACES: tuple[Surface, ...] = (
    _sft(
        "sft-sqrt-scaling",
        4_000,
        f"{_LR}\nbatch_size: {{low: 1, high: 64, log: true, auto: true}}\n"
        "n_epochs: {low: 1, high: 10, auto: true}",
        _sqrt_scaling,
        start=1.9,
        tokens=600,
    ),
    Surface(
        name="dpo-beta-lr",
        method="dpo",
        model="gpt-4.1-mini-2025-04-14",
        examples=1_200,
        tokens_per_example=900,
        space="beta: {low: 0.01, high: 2.0, log: true, auto: true}\n"
        f"{_LR}\nn_epochs: {{low: 1, high: 8, auto: true}}\nbatch_size: [auto, 4, 8, 16, 32]",
        auto={
            "beta": 0.1,
            "learning_rate_multiplier": 1.0,
            "n_epochs": auto_epochs(1_200),
            "batch_size": auto_batch(1_200),
        },
        formula=_beta_lr,
        start=0.693,  # ln 2: the policy starts as the reference model
    ),
    _rl(
        "rft-effort-grid",
        "reasoning_effort: [default, low, medium, high]\n"
        "compute_multiplier: [auto, 0.5, 1.0, 2.0, 4.0]\n"
        "learning_rate_multiplier: [auto, 0.3, 1.0, 3.0]\nn_epochs: [auto, 1, 2, 3]",
        _effort_compute,
    ),
    _sft(
        "sft-sharp",
        800,
        f"{_LR}\nn_epochs: {{low: 1, high: 10, auto: true}}\nbatch_size: [auto, 1, 2, 4, 8]",
        _sharp,
        start=1.6,
        tokens=400,
    ),
    _sft(
        "sft-flat",
        20_000,
        f"{_LR}\nn_epochs: {{low: 1, high: 5, auto: true}}\n"
        "batch_size: {low: 1, high: 256, log: true, auto: true}",
        _flat,
        start=1.4,
        tokens=500,
    ),
    _sft(
        "sft-diverge",
        2_500,
        f"{_LR}\nbatch_size: {{low: 1, high: 64, log: true, auto: true}}\n"
        "n_epochs: {low: 1, high: 6, auto: true}",
        _diverge,
        start=1.7,
        tokens=800,
    ),
)

BY_NAME = {s.name: s for s in SURFACES}

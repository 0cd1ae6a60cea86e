"""Simple regret, its summaries, and bootstrap intervals of ratios of medians.

A run recommends the trial with the best *reported* value among its first k trials (on a noisy
surface, the noisy report); its simple regret is the *true* value of that configuration minus
the optimum, in the objective's direction (0 when it is the optimum). A run whose first k jobs
all failed recommends the all-"auto" configuration. Normalised regret divides by the surface's
gap (`Reference.gap`: the regret of a median random configuration), so that 1 is "no better
than a typical blind choice" on every surface and the suite can be pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from searchbench.reference import Reference
from searchbench.runs import Trial
from searchbench.surfaces import Surface

RESAMPLES = 1_000
#: Added to both medians of a ratio, in normalised regret: two runs that both hit the optimum
#: compare as 1, not 0/0.
EPS = 1e-4


@dataclass(frozen=True)
class Outcome:
    """What one run recommends after k trials, and how far that is from the optimum."""

    value: float  # the true value of the recommended configuration
    regret: float
    normalised: float
    within: bool  # within 1% of the optimum


def outcome(surface: Surface, ref: Reference, trials: Sequence[Trial], k: int) -> Outcome:
    value = recommended(surface, ref, trials[:k])
    sign = 1.0 if surface.direction == "minimize" else -1.0
    regret = max(0.0, sign * (value - ref.optimum))
    return Outcome(value, regret, regret / ref.gap, ref.within(value))


def recommended(surface: Surface, ref: Reference, trials: Sequence[Trial]) -> float:
    best: Trial | None = None
    for trial in trials:
        if trial.observed is None or trial.true is None:
            continue
        if best is None or surface.better(trial.observed, best.observed):  # type: ignore[arg-type]
            best = trial
    if best is None or best.true is None:
        return ref.auto
    return best.true


@dataclass(frozen=True)
class Ratio:
    """A ratio of medians with its 90% bootstrap interval."""

    point: float
    low: float
    high: float

    def text(self) -> str:
        return f"{self.point:5.2f}x [{self.low:.2f}, {self.high:.2f}]"


def median_ratio(a: np.ndarray, b: np.ndarray, seed: int = 0) -> Ratio:
    """median(a) / median(b) over every value, a and b being surfaces x seeds; the interval
    resamples the seeds of each surface (a and b independently, since their runs are unpaired),
    `RESAMPLES` times, and takes the 5th and 95th percentiles."""
    rng = np.random.default_rng(seed)
    point = (np.median(a) + EPS) / (np.median(b) + EPS)
    ratios = (_resampled_medians(a, rng) + EPS) / (_resampled_medians(b, rng) + EPS)
    low, high = np.percentile(ratios, [5, 95])
    return Ratio(float(point), float(low), float(high))


def _resampled_medians(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    surfaces, seeds = x.shape
    picks = rng.integers(0, seeds, (RESAMPLES, surfaces, seeds))
    resampled = x[np.arange(surfaces)[None, :, None], picks]
    return np.median(resampled.reshape(RESAMPLES, -1), axis=1)


def summary(outcomes: Sequence[Outcome]) -> tuple[float, float, float]:
    """Median regret, 90th-percentile regret and the share within 1% of the optimum."""
    regrets = np.array([o.regret for o in outcomes])
    share = sum(o.within for o in outcomes) / len(outcomes)
    return float(np.median(regrets)), float(np.percentile(regrets, 90)), share

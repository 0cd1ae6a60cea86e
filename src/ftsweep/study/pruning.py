"""Early stopping: whether a running job's learning curve is hopeless beside the others'.

A curve is the pruning metric at points of progress: `x` is how much the job has trained
(examples seen, step x batch size, so that jobs of different batch sizes compare at the same
cost), `value` the metric there. Jobs report at different points, so the others' curves are read
at the running job's points, each at its last value at or before the point, and only where it
got that far.

- `median` and `percentile` are Optuna's `MedianPruner` and `PercentilePruner`, asked on an
  in-memory study that holds those aligned curves: the job is hopeless when its best value so far
  is worse than the median (or the percentile) of the finished jobs' at the same point.
- `halving` is successive halving over rungs at `min_examples x reduction_factor ** k`: at each rung
  it reaches, the job goes on only while its value there is among the best 1 / reduction_factor
  of every job that reached the rung (asynchronous successive halving: no job waits for others).

Pruning starts once `startup_trials` jobs have finished and a job has trained `warmup_examples`
(`auto`: one epoch, `epoch` examples, which the caller knows: the training file's examples, or
what the finished trials trained per epoch).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from optuna.pruners import BasePruner

    from ftsweep.sweep.spec import Prune

__all__ = ["Curve", "Verdict", "judge", "warmup"]


@dataclass(frozen=True)
class Curve:
    """A job's pruning metric by progress: `points` are (x, value), x ascending."""

    points: tuple[tuple[float, float], ...]
    complete: bool = False  # the job finished whole (pruned and running ones did not)

    def at(self, x: float) -> float | None:
        """The last value at or before `x`; None when the job has not got that far."""
        if not self.points or self.points[-1][0] < x:
            return None
        index = bisect.bisect_right([p for p, _ in self.points], x) - 1
        return None if index < 0 else self.points[index][1]

    @property
    def reached(self) -> float:
        return self.points[-1][0] if self.points else 0.0


@dataclass(frozen=True)
class Verdict:
    """Where a job was judged hopeless: the progress and its value there."""

    x: float
    value: float


def judge(
    rule: Prune,
    direction: str,
    others: Sequence[Curve],
    curve: Curve,
    epoch: float | None = None,
) -> Verdict | None:
    """Whether to stop the job of `curve` now, given the other jobs' curves; None: go on.
    `epoch` is the examples of one epoch, the warm-up of `warmup_examples: auto` (None: none
    known, no warm-up)."""
    if not curve.points or curve.reached < warmup(rule, epoch):
        return None
    if sum(1 for c in others if c.complete) < rule.startup_trials:
        return None
    if rule.rule == "halving":
        return _halving(rule, direction, others, curve)
    return _optuna(rule, direction, others, curve)


def warmup(rule: Prune, epoch: float | None) -> float:
    """The examples a job trains before it may be pruned."""
    if rule.warmup_examples == "auto":
        return epoch or 0.0
    return float(rule.warmup_examples)


def _optuna(rule: Prune, direction: str, others: Sequence[Curve], curve: Curve) -> Verdict | None:
    import optuna
    from optuna.distributions import BaseDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    xs = [x for x, _ in curve.points]
    study = optuna.create_study(direction=_direction(direction), pruner=_pruner(rule))
    dist: dict[str, BaseDistribution] = {"x": FloatDistribution(0.0, 1.0)}
    for other in others:
        if not other.complete:
            continue  # Optuna's pruners compare with finished trials only
        aligned = {i: v for i, x in enumerate(xs) if (v := other.at(x)) is not None}
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                value=other.points[-1][1],
                params={"x": 0.5},
                distributions=dist,
                intermediate_values=aligned,
            )
        )
    trial = study.ask()
    for index, (_, value) in enumerate(curve.points):
        trial.report(value, index)
    if not trial.should_prune():
        return None
    return Verdict(*curve.points[-1])


def _direction(direction: str) -> Literal["minimize", "maximize"]:
    return "maximize" if direction == "maximize" else "minimize"


def _pruner(rule: Prune) -> BasePruner:
    """Optuna's pruner for the rule, judging at every point (its startup and warmup are judged
    here, in progress, since the aligned steps are only indexes)."""
    import optuna

    if rule.rule == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=0, n_min_trials=rule.min_trials)
    return optuna.pruners.PercentilePruner(
        rule.percentile, n_startup_trials=0, n_min_trials=rule.min_trials
    )


def _halving(rule: Prune, direction: str, others: Sequence[Curve], curve: Curve) -> Verdict | None:
    first = _min_examples(rule, others, curve)
    better = min if direction == "minimize" else max
    rung = first
    while rung <= curve.reached:
        mine = curve.at(rung)
        assert mine is not None
        field = [v for c in others if (v := c.at(rung)) is not None]
        if len(field) >= rule.min_trials:
            ranked = sorted([*field, mine], reverse=better is max)
            keep = max(1, math.floor(len(ranked) / rule.reduction_factor))
            if (mine > ranked[keep - 1]) if better is min else (mine < ranked[keep - 1]):
                return Verdict(rung, mine)
        rung *= rule.reduction_factor
    return None


def _min_examples(rule: Prune, others: Sequence[Curve], curve: Curve) -> float:
    """The first rung: as given, or (auto) a hundredth of the longest finished job, as
    Optuna's `min_resource="auto"` does, but at least the job's first point."""
    if rule.min_examples != "auto":
        return float(rule.min_examples)
    longest = max((c.reached for c in others if c.complete), default=curve.reached)
    return max(longest / 100, curve.points[0][0])

"""Learning curves on a sweep's trials: what a job reported step by step, kept as Optuna's
intermediate values, the trials `ftsweep.study.pruning.judge` finds hopeless, and what stopping
them saves.

A trial's curve is the sweep's prune metric (`prune.metric`, by default the objective's) by
progress: the examples its job has trained, step x the batch size the service resolved, so that
jobs of different batch sizes are compared at the same cost (Optuna's intermediate values are
keyed by an integer step: here that step is the progress). `sync` reads a running job's curve
from its metric events at every look and stores it on the trial (`Report`); a job that
succeeds gets its whole curve from its results, so that finished trials are there to compare
with. Nothing here touches the service or the storage: the provider reads the rows, the store
writes what these functions plan.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftsweep.study.cells import finite, metric_cell, whole
from ftsweep.study.pruning import Curve, Verdict, judge
from ftsweep.study.records import Pruned, Report, State, TrialRecord, current
from ftsweep.sweep.spec import KNOWN_METRICS

if TYPE_CHECKING:
    from ftsweep.data.cost import Costing
    from ftsweep.sweep.load import Sweep

__all__ = [
    "JobCurve",
    "curve_of",
    "epoch_examples",
    "hopeless",
    "job_curve",
    "prune_metric",
    "pruning",
    "report",
]


@dataclass(frozen=True)
class JobCurve:
    """What a job's per-step rows say of its progress: the prune metric by step (`values`), its
    batch size, the last step any row reports (where the job is: rows without the metric count,
    `full_valid_loss` is there only at epoch ends) and the steps it trains in all, when the
    service says (`total_steps` in its metric events)."""

    values: Mapping[int, float]
    batch_size: int
    reached: int
    total_steps: int | None = None

    def by_progress(self) -> dict[int, float]:
        """The values keyed by progress (examples trained), as the trial stores them."""
        return {step * self.batch_size: value for step, value in self.values.items()}


def prune_metric(sweep: Sweep) -> tuple[str, str]:
    """The metric pruning judges and which way it improves (the objective's, or the known one
    of another metric; `ftsweep.sweep.load` refuses any other)."""
    objective = sweep.objectives[0]
    rule = sweep.spec.prune
    metric = rule.metric if rule is not None and rule.metric else objective.metric
    if metric == objective.metric:
        return metric, objective.direction or "minimize"
    return metric, KNOWN_METRICS[metric]


def job_curve(
    rows: Iterable[Mapping[str, object]], metric: str, batch_size: int
) -> JobCurve | None:
    """The curve of a job's per-step rows (the backend's `steps`); None when no row has a step.
    A value that is no finite number (a run that diverged) is not a point of it."""
    values: dict[int, float] = {}
    reached, total = 0, None
    for row in rows:
        step = whole(row.get("step"))
        if step is None:
            continue
        reached = max(reached, step)
        total = whole(row.get("total_steps")) or total
        value = finite(metric_cell(row, metric))
        if value is not None:
            values[step] = value
    return JobCurve(values, batch_size, reached, total) if reached else None


def report(trial: TrialRecord, curve: JobCurve) -> Report | None:
    """The write that stores the curve on its trial; None when the trial holds it already (the
    store writes only the values that changed, this spares it the look)."""
    values = curve.by_progress()
    held = trial.intermediate_values
    if not values or all(held.get(x) == v for x, v in values.items()):
        return None
    return Report(trial.number, values)


def curve_of(trial: TrialRecord) -> Curve:
    """A trial's stored curve, as `judge` reads it: complete once its job finished whole."""
    points = tuple(sorted((float(x), v) for x, v in trial.intermediate_values.items()))
    return Curve(points, complete=trial.state == State.COMPLETE)


def hopeless(
    sweep: Sweep,
    trials: Sequence[TrialRecord],
    numbers: Iterable[int],
    examples: int | None = None,
) -> list[tuple[TrialRecord, Verdict]]:
    """Each trial of `numbers` that the sweep's rule judges hopeless beside every other trial of
    the sweep that has a curve, with the verdict; [] without a `prune:` section. `examples` is
    the training file's (None: not a local file), one epoch for `warmup_examples: auto`."""
    rule = sweep.spec.prune
    if rule is None:
        return []
    _, direction = prune_metric(sweep)
    # A trial plain Optuna added reported in its own units: it is no curve of the sweep's.
    shown = [t for t in current(list(trials)) if t.intermediate_values and not t.foreign]
    curves = {t.number: curve_of(t) for t in shown}
    epoch = examples or epoch_examples(shown)
    by_number = {t.number: t for t in trials}
    found = []
    for number in numbers:
        mine = curves.get(number)
        if mine is None:
            continue
        others = [c for n, c in curves.items() if n != number]
        verdict = judge(rule, direction, others, mine, epoch)
        if verdict is not None:
            found.append((by_number[number], verdict))
    return found


def epoch_examples(trials: Iterable[TrialRecord]) -> float | None:
    """The examples of one epoch as the finished trials show them (the median of what each
    trained, its curve's last progress, over the epochs its job resolved); None when no finished
    trial says both."""
    per = []
    for trial in trials:
        epochs = whole(trial.job.resolved.get("n_epochs"))
        if trial.state == State.COMPLETE and trial.intermediate_values and epochs:
            per.append(max(trial.intermediate_values) / epochs)
    return statistics.median(per) if per else None


def pruning(trial: TrialRecord, curve: JobCurve, costing: Costing | None) -> Pruned:
    """Where the trial stops (its last value judged) and what the rest of its job would have
    trained and cost: the job's estimate times the share of its steps not trained (the share
    from the service's `total_steps`, else from the epochs and the training file's examples)."""
    step = max(curve.values)
    left = _untrained(trial, curve, costing)
    tokens, cost = _estimate(trial, costing)
    saved_tokens = round(tokens * left) if tokens is not None and left is not None else None
    saved_cost = round(cost * left, 6) if cost is not None and left is not None else None
    return Pruned(step, step * curve.batch_size, curve.values[step], saved_tokens, saved_cost)


def _untrained(trial: TrialRecord, curve: JobCurve, costing: Costing | None) -> float | None:
    total = curve.total_steps
    if total is None and costing is not None and costing.data is not None:
        epochs = costing.epochs(trial.params or {}, trial.job.resolved)
        batches = math.ceil(costing.data.examples / curve.batch_size)
        total = epochs * batches if epochs is not None else None
    if not total:
        return None
    return max(0.0, 1.0 - curve.reached / total)


def _estimate(trial: TrialRecord, costing: Costing | None) -> tuple[int | None, float | None]:
    """The job's trained tokens and cost, estimated now (its epochs resolved) or when handed
    out."""
    if costing is not None:
        made = costing.estimate(trial.params or {}, trial.job.resolved)
        if made is not None:
            return made.trained_tokens, made.cost
    return trial.job.estimated_tokens, trial.job.estimated_cost

"""`pruning.judge`: whether a running job's curve is hopeless beside the others' curves."""

from __future__ import annotations

from typing import Any

import pytest

from ftsweep.study.pruning import Curve, Verdict, judge
from ftsweep.sweep.spec import Prune


def curve(*points: tuple[float, float], complete: bool = True) -> Curve:
    return Curve(tuple(points), complete=complete)


def rule(**fields: Any) -> Prune:
    """The median rule, judging from the first point, unless `fields` say otherwise."""
    return Prune(**{"rule": "median", "startup_trials": 2, "warmup_examples": 0, **fields})


#: Three finished jobs that reported at 10, 20 and 30 examples trained.
FINISHED = [
    curve((10, 1.0), (20, 0.8), (30, 0.6)),
    curve((10, 1.2), (20, 0.9), (30, 0.7)),
    curve((10, 1.4), (20, 1.0), (30, 0.8)),
]


def test_median_stops_a_job_worse_than_the_finished_median_at_the_same_point() -> None:
    bad = curve((10, 1.5), (20, 1.3), complete=False)
    assert judge(rule(), "minimize", FINISHED, bad) == Verdict(20, 1.3)
    good = curve((10, 1.1), (20, 0.85), complete=False)
    assert judge(rule(), "minimize", FINISHED, good) is None


def test_median_judges_the_best_value_so_far() -> None:
    """Optuna's median pruner compares the job's best value yet: one bad point after a good
    one is no reason to stop (1.3 at 20 is worse than the median there, 0.9; 0.9 at 10 is
    not)."""
    wobbly = curve((10, 0.9), (20, 1.3), complete=False)
    assert judge(rule(), "minimize", FINISHED, wobbly) is None
    assert judge(rule(), "minimize", FINISHED, curve((20, 1.3), complete=False)) is not None


def test_a_larger_value_is_better_when_the_metric_is_maximised() -> None:
    rewards = [curve((10, 0.2), (20, 0.5)), curve((10, 0.3), (20, 0.6))]
    low = curve((10, 0.1), (20, 0.2), complete=False)
    assert judge(rule(), "maximize", rewards, low) == Verdict(20, 0.2)
    assert judge(rule(), "minimize", rewards, low) is None


def test_nothing_is_stopped_before_startup_trials_have_finished() -> None:
    bad = curve((10, 5.0), complete=False)
    running = curve((10, 1.0), complete=False)
    assert judge(rule(startup_trials=4), "minimize", FINISHED, bad) is None
    assert judge(rule(startup_trials=4), "minimize", [*FINISHED, running], bad) is None
    assert judge(rule(startup_trials=3), "minimize", FINISHED, bad) == Verdict(10, 5.0)


def test_nothing_is_stopped_before_its_warmup() -> None:
    bad = curve((10, 5.0), complete=False)
    assert judge(rule(warmup_examples=11), "minimize", FINISHED, bad) is None
    assert judge(rule(warmup_examples=10), "minimize", FINISHED, bad) == Verdict(10, 5.0)


def test_others_are_read_at_their_last_value_at_or_before_each_point() -> None:
    """Jobs of other batch sizes report at other points: a finished job that reported at 8 and
    24 examples is read at 10 as its value at 8."""
    coarse = [curve((8, 1.0), (24, 0.5)), curve((8, 1.1), (24, 0.6))]
    assert judge(rule(), "minimize", coarse, curve((10, 1.2), complete=False)) == Verdict(10, 1.2)
    assert judge(rule(), "minimize", coarse, curve((10, 1.0), complete=False)) is None


def test_a_point_no_finished_job_reached_is_not_judged() -> None:
    far = curve((50, 9.0), complete=False)  # past every finished job's last point
    assert judge(rule(), "minimize", FINISHED, far) is None


def test_min_trials_others_must_have_reached_the_point() -> None:
    bad = curve((10, 5.0), complete=False)
    assert judge(rule(min_trials=4), "minimize", FINISHED, bad) is None
    assert judge(rule(min_trials=3), "minimize", FINISHED, bad) == Verdict(10, 5.0)


@pytest.mark.parametrize(("percentile", "pruned"), [(10.0, True), (90.0, False)])
def test_percentile_keeps_the_best_percentile(percentile: float, pruned: bool) -> None:
    """At 20 examples the finished jobs had 0.8, 0.9 and 1.0: 0.95 is within the best 90 %,
    not within the best 10 %."""
    middling = curve((20, 0.95), complete=False)
    found = judge(rule(rule="percentile", percentile=percentile), "minimize", FINISHED, middling)
    assert (found is not None) == pruned


def test_an_empty_curve_is_never_judged() -> None:
    assert judge(rule(), "minimize", FINISHED, curve(complete=False)) is None


def test_halving_stops_a_job_outside_the_best_third_at_a_rung() -> None:
    halving = rule(rule="halving", min_examples=10, reduction_factor=3, min_trials=2)
    # Rungs at 10, 30: at 10 the others had 1.0, 1.2, 1.4; a job at 1.3 is not in the best third.
    assert judge(halving, "minimize", FINISHED, curve((10, 1.3), complete=False)) == Verdict(
        10, 1.3
    )
    assert judge(halving, "minimize", FINISHED, curve((10, 0.9), complete=False)) is None


def test_halving_counts_every_job_that_reached_the_rung_running_or_not() -> None:
    """Asynchronous successive halving: no job waits for the others to finish."""
    halving = rule(
        rule="halving", min_examples=10, reduction_factor=2, min_trials=2, startup_trials=0
    )
    running = [curve((10, 1.0), complete=False), curve((10, 2.0), complete=False)]
    assert judge(halving, "minimize", running, curve((10, 1.5), complete=False)) == Verdict(10, 1.5)
    assert judge(halving, "minimize", running[:1], curve((10, 1.5), complete=False)) is None


def test_halving_judges_each_rung_the_job_reached() -> None:
    halving = rule(rule="halving", min_examples=10, reduction_factor=3, min_trials=2)
    # Fine at the first rung (10), out of the best third at the second (30).
    late = curve((10, 0.9), (30, 0.75), complete=False)
    assert judge(halving, "minimize", FINISHED, late) == Verdict(30, 0.75)


def test_halving_auto_starts_at_a_hundredth_of_the_longest_finished_job() -> None:
    halving = rule(rule="halving", reduction_factor=3, min_trials=2)  # min_examples: auto
    long = [curve((10, 1.0), (1000, 0.5)), curve((10, 1.2), (1000, 0.6))]
    # The first rung is 10 (1000 / 100), at or after the job's first point: nothing there yet.
    assert judge(halving, "minimize", long, curve((5, 9.0), complete=False)) is None
    assert judge(halving, "minimize", long, curve((10, 9.0), complete=False)) is not None


def test_the_default_keeps_the_best_40_percent_after_one_epoch() -> None:
    """`prune: {}` is the percentile rule at 40 (chosen on the search benchmark) after a warm-up
    of one epoch: `epoch` examples, which the caller knows; none known, no warm-up."""
    default = Prune(startup_trials=2)
    assert (default.rule, default.percentile, default.warmup_examples) == ("percentile", 40, "auto")
    # At 20 the finished jobs stand at 0.8, 0.9 and 1.0: 40% of them is 0.88.
    slow = curve((10, 1.1), (20, 0.89), complete=False)
    assert judge(default, "minimize", FINISHED, slow, epoch=20) == Verdict(20, 0.89)
    assert judge(rule(), "minimize", FINISHED, slow) is None  # the median, 0.9, lets it go on
    early = curve((10, 1.5), complete=False)
    assert judge(default, "minimize", FINISHED, early, epoch=20) is None  # not an epoch in yet
    assert judge(default, "minimize", FINISHED, early, epoch=None) == Verdict(10, 1.5)

"""The whole benchmark: its units of work on a process pool, and the figures drawn from them."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from searchbench.reference import Reference, reference
from searchbench.runs import (
    PREFIX_READ,
    STRATEGIES,
    WARM,
    WARM_BUDGETS,
    Run,
    Unit,
    execute,
    fill,
    timed_ask,
)
from searchbench.stats import Outcome, Ratio, median_ratio, outcome, recommended
from searchbench.surfaces import BY_NAME, SURFACES

PRUNE_BATCH = 4
HEADLINE_BATCH = 4
WARM_BATCH = 4
CHECK_BATCH = 8  # the prefix check: a 12-trial run against the first 12 of a longer one
ASK_REPEATS = 3


@dataclass(frozen=True)
class Settings:
    budgets: tuple[int, ...]
    batches: tuple[int, ...]
    seeds: int
    jobs: int
    fill: int  # told trials of the study `ask -n 8` is timed on
    checks: bool  # run the prefix check

    @property
    def longest(self) -> int:
        return max(self.budgets)

    @property
    def headline(self) -> int:
        """The budget of the headline ratios: 24 trials, or the largest there is."""
        return 24 if 24 in self.budgets else self.longest

    @property
    def headline_batch(self) -> int:
        """The batch size of the headline ratios: 4, or the first there is."""
        return HEADLINE_BATCH if HEADLINE_BATCH in self.batches else self.batches[0]

    @property
    def prune_budget(self) -> int:
        return self.headline

    @property
    def pruning(self) -> bool:
        """Whether the pruning runs are part of this run (they are in batches of 4)."""
        return PRUNE_BATCH in self.batches

    @property
    def warm_budgets(self) -> tuple[int, ...]:
        """The budgets of the warm-start runs (those the cold default also runs at)."""
        return (
            tuple(b for b in WARM_BUDGETS if b in self.budgets)
            if WARM_BATCH in self.batches
            else ()
        )


Key = tuple[str, str, int, int, int]  # surface, strategy, batch, budget, seed


@dataclass
class Results:
    settings: Settings
    refs: dict[str, Reference]
    runs: dict[Key, Run] = field(default_factory=dict)
    pruning: dict[tuple[str, int], dict[str | None, Run]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    ask200: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # worker CPU seconds by strategy
    wall: float = 0.0

    def strategies(self, surface: str) -> list[str]:
        finite = self.refs[surface].size is not None
        return [s for s in STRATEGIES if s != "grid" or finite]

    def warm_ratio(self, budget: int, surfaces: Iterable[str]) -> Ratio:
        """Warm-started default over the cold one, at `budget` in batches of 4."""
        return self.ratio(WARM, "default", budget, WARM_BATCH, surfaces)

    def outcomes(self, surface: str, strategy: str, budget: int, batch: int) -> list[Outcome]:
        """One outcome per seed: the runs read at `budget`."""
        ran = self.settings.longest if strategy in PREFIX_READ else budget
        surf, ref = BY_NAME[surface], self.refs[surface]
        return [
            outcome(surf, ref, self.runs[(surface, strategy, batch, ran, seed)].trials, budget)
            for seed in range(self.settings.seeds)
        ]

    def normalised(
        self, strategy: str, budget: int, batch: int, surfaces: Iterable[str]
    ) -> np.ndarray:
        """Normalised regrets, surfaces x seeds."""
        rows = [[o.normalised for o in self.outcomes(s, strategy, budget, batch)] for s in surfaces]
        return np.array(rows)

    def ratio(self, a: str, b: str, budget: int, batch: int, surfaces: Iterable[str]) -> Ratio:
        surfaces = list(surfaces)
        return median_ratio(
            self.normalised(a, budget, batch, surfaces), self.normalised(b, budget, batch, surfaces)
        )


def plan(settings: Settings, refs: dict[str, Reference]) -> list[Unit]:
    """Every unit of work, the longest first (so the pool ends together)."""
    units: list[Unit] = []
    for surface in SURFACES:
        finite = refs[surface.name].size is not None
        for seed in range(settings.seeds):
            for batch in settings.batches:
                units += _default_units(settings, surface.name, batch, seed)
                units += [
                    Unit(surface.name, strategy, batch, settings.longest, seed)
                    for strategy in PREFIX_READ
                    if strategy != "grid" or finite
                ]
            units += [
                Unit(surface.name, WARM, WARM_BATCH, budget, seed)
                for budget in settings.warm_budgets
            ]
    if settings.checks:
        units += [Unit(s, strategy, CHECK_BATCH, 12, 0) for s, strategy in _checked(refs)]
    return sorted(units, key=_cost, reverse=True)


def _default_units(settings: Settings, surface: str, batch: int, seed: int) -> list[Unit]:
    """ftsweep's default runs each budget on its own (its search depends on max_trials); the
    pruning unit's run without pruning is the default's run at that budget and batch."""
    pruned = (settings.prune_budget, PRUNE_BATCH)
    return [
        Unit(surface, "default", batch, budget, seed, pruning=(budget, batch) == pruned)
        for budget in settings.budgets
    ]


def _checked(refs: dict[str, Reference]) -> list[tuple[str, str]]:
    finite = next(s.name for s in SURFACES if refs[s.name].size is not None)
    return [(SURFACES[0].name, "tpe"), (SURFACES[0].name, "random"), (finite, "grid")]


def _cost(unit: Unit) -> float:
    """A rough guess at a unit's seconds, to start the long ones first."""
    per = {"default": 2.0, "tpe": 1.0, WARM: 2.5}.get(unit.strategy, 0.1)
    return per * unit.budget * (unit.budget + 20) / unit.batch**0.5 * (4 if unit.pruning else 1)


def run_all(settings: Settings) -> Results:
    start = time.perf_counter()
    refs = {s.name: reference(s.name) for s in SURFACES}
    results = Results(settings, refs)
    units = plan(settings, refs)
    with tempfile.TemporaryDirectory(prefix="bench-search-ask-") as tmp:
        journal = str(Path(tmp) / "filled.log")
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=settings.jobs, mp_context=context) as pool:
            filled = pool.submit(fill, journal, settings.fill)
            futures = [pool.submit(execute, unit) for unit in units]
            _collect(results, futures)
            filled.result()
        results.ask200 = _time_asks(journal, settings.fill, tmp)
    results.checks = _prefix_checks(results) if settings.checks else {}
    results.wall = time.perf_counter() - start
    return results


def _collect(results: Results, futures: list[Future[list[Run]]]) -> None:
    done, step = 0, max(1, len(futures) // 10)
    for future in as_completed(futures):
        for one in future.result():
            u = one.unit
            what = u.strategy if one.rule is None else "pruning"
            results.cpu[what] = results.cpu.get(what, 0.0) + one.cpu
            if u.pruning:
                results.pruning.setdefault((u.surface, u.seed), {})[one.rule] = one
            if one.rule is None:
                key = (u.surface, u.strategy, u.batch, u.budget, u.seed)
                results.runs[key] = one
        done += 1
        if done % step == 0 or done == len(futures):
            print(f"  {done}/{len(futures)} units", file=sys.stderr, flush=True)


def _time_asks(journal: str, count: int, tmp: str) -> list[float]:
    """`ask -n 8` on copies of the filled study, each fresh (an ask adds trials)."""
    seconds = []
    for i in range(ASK_REPEATS):
        copy = str(Path(tmp) / f"copy-{i}.log")
        shutil.copyfile(journal, copy)
        seconds.append(timed_ask(copy, count))
        os.remove(copy)
    return seconds


def _prefix_checks(results: Results) -> dict[str, bool]:
    """Whether a 12-trial run hands out the first 12 configurations of the longest run."""
    out = {}
    for surface, strategy in _checked(results.refs):
        short = results.runs[(surface, strategy, CHECK_BATCH, 12, 0)]
        long = results.runs[(surface, strategy, CHECK_BATCH, results.settings.longest, 0)]
        out[strategy] = [t.params for t in short.trials] == [t.params for t in long.trials[:12]]
    return out


@dataclass(frozen=True)
class PruneFigures:
    """One rule's pruning figures over some (surface, seed) pairs."""

    saved: float  # 1 - tokens trained with pruning / without, summed
    saved_within: float  # tokens the pruned jobs did not train / what all would have
    loss_median: float  # relative change in the final best true value (+ is worse)
    loss_mean: float

    def passes(self) -> bool:
        return self.saved >= 0.30 and self.loss_median <= 0.01 and self.loss_mean <= 0.01


def prune_figures(results: Results, rule: str, surfaces: Iterable[str]) -> PruneFigures:
    trained = unpruned = full = 0.0
    losses = []
    for surface in surfaces:
        surf, ref = BY_NAME[surface], results.refs[surface]
        sign = 1.0 if surf.direction == "minimize" else -1.0
        for seed in range(results.settings.seeds):
            pair = results.pruning[(surface, seed)]
            base, pruned = pair[None], pair[rule]
            trained += sum(t.tokens for t in pruned.trials)
            full += sum(t.full_tokens for t in pruned.trials)
            unpruned += sum(t.tokens for t in base.trials)
            before = recommended(surf, ref, base.trials)
            after = recommended(surf, ref, pruned.trials)
            losses.append(sign * (after - before) / abs(before))
    return PruneFigures(
        1 - trained / unpruned,
        1 - trained / full,
        statistics.median(losses),
        statistics.mean(losses),
    )


def ask_ms_per_trial(results: Results, strategy: str, batch: int) -> float | None:
    """Median over the runs at the longest budget of their ask seconds per trial, in ms."""
    per = [
        run.ask_seconds / len(run.trials) * 1000
        for (_, s, b, budget, _), run in results.runs.items()
        if s == strategy and b == batch and budget == results.settings.longest and run.trials
    ]
    return statistics.median(per) if per else None


def as_json(results: Results) -> dict[str, Any]:
    """Everything the tables show, and each run's regrets, for comparing defaults."""
    from searchbench.report import headlines
    from searchbench.runs import PRUNE_RULES

    s = results.settings
    names = [x.name for x in SURFACES]
    return {
        "settings": vars(s),
        "wall_seconds": results.wall,
        "worker_cpu_seconds": results.cpu,
        "surfaces": {name: vars(ref) for name, ref in results.refs.items()},
        "cells": _cells(results),
        "headlines": headlines(results),
        "pruning": {
            rule: vars(prune_figures(results, rule, names))
            | {name: vars(prune_figures(results, rule, [name])) for name in names}
            for rule in (PRUNE_RULES if s.pruning else ())
        },
        "ask_ms_per_trial": {
            f"{strategy}/{batch}": ask_ms_per_trial(results, strategy, batch)
            for strategy in STRATEGIES
            for batch in s.batches
        },
        "ask8_on_filled_study": {"trials": s.fill, "seconds": results.ask200},
        "prefix_checks": results.checks,
    }


def _cells(results: Results) -> list[dict[str, Any]]:
    """Per surface, strategy, budget and batch size: each seed's regret (seed order)."""
    cells = []
    for surface in SURFACES:
        for strategy in results.strategies(surface.name):
            for budget in results.settings.budgets:
                for batch in results.settings.batches:
                    outs = results.outcomes(surface.name, strategy, budget, batch)
                    where = {"surface": surface.name, "strategy": strategy}
                    cells.append(
                        where
                        | {"budget": budget, "batch": batch}
                        | {"regret": [o.regret for o in outs]}
                        | {"normalised": [o.normalised for o in outs]}
                        | {"within_1pct": [o.within for o in outs]}
                    )
    return cells

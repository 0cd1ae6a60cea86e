"""The tables bench_search prints, and its headline ratios with their verdicts."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from searchbench.runs import PRUNE_RULES, STRATEGIES, WARM, WARM_PRIOR
from searchbench.stats import summary
from searchbench.suite import PRUNE_BATCH, WARM_BATCH, Results, ask_ms_per_trial, prune_figures
from searchbench.surfaces import SURFACES

TIE = 1e-9  # a ratio this close to 1 is a tie (equal medians), not better
NAMES = {"default": "ftsweep default", "tpe": "Optuna TPE", "random": "random", "grid": "grid"}
NOISE = (
    "[interval]: 90% of 1,000 bootstrap resamples of the seeds (each surface's seeds, each\n"
    "strategy's runs resampled independently); worse by more than noise = all of it above 1"
)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_all(results: Results) -> None:
    s = results.settings
    print(
        f"bench_search: {len(SURFACES)} surfaces, budgets {list(s.budgets)}, batches "
        f"{list(s.batches)}, {s.seeds} seeds, {s.jobs} workers"
    )
    surfaces_table(results)
    regret_table(results)
    suite_table(results)
    ask_table(results)
    headline_table(results)
    warm_table(results)
    pruning_table(results)
    checks_line(results)
    cpu = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(results.cpu.items(), key=lambda kv: -kv[1]))
    print(f"\nworker CPU: {cpu}")
    print(f"wall time of the whole run: {results.wall:.0f} s")


def surfaces_table(results: Results) -> None:
    print("\n== surfaces (optimum by dense search; random: 4,000 of ftsweep's random points) ==")
    print(
        f"{'surface':<18} {'method':<13} {'size':>5} {'optimum':>8} {'auto':>8} "
        f"{'rnd med':>8} {'gap':>7} {'rnd<=1%':>8} {'rnd fail':>8}"
    )
    for surface in SURFACES:
        ref = results.refs[surface.name]
        size = "inf" if ref.size is None else str(ref.size)
        print(
            f"{surface.name:<18} {surface.method:<13} {size:>5} {ref.optimum:8.4f} "
            f"{ref.auto:8.4f} {ref.random_median:8.4f} {ref.gap:7.4f} "
            f"{ref.random_within:8.1%} {ref.random_fails:8.1%}"
        )


def regret_table(results: Results) -> None:
    s = results.settings
    print("\n== simple regret: median, 90th percentile, share of runs within 1% of optimum ==")
    head = " | ".join(f"{NAMES[x]:^21}" for x in STRATEGIES)
    print(f"{'surface':<18} {'n':>3} {'b':>2} | {head}")
    for surface in SURFACES:
        for budget in s.budgets:
            for batch in s.batches:
                cells = []
                for strategy in STRATEGIES:
                    if strategy not in results.strategies(surface.name):
                        cells.append(f"{'-':^21}")
                        continue
                    med, p90, share = summary(
                        results.outcomes(surface.name, strategy, budget, batch)
                    )
                    cells.append(f"{med:7.4f} {p90:7.4f} {share:4.0%}")
                print(f"{surface.name:<18} {budget:>3} {batch:>2} | {' | '.join(cells)}")


def suite_table(results: Results) -> None:
    """The suite at a glance: median normalised regret over every surface and seed."""
    s = results.settings
    names = [x.name for x in SURFACES]
    strategies = [x for x in STRATEGIES if x != "grid"]  # grid runs on the finite surface only
    print("\n== suite: median normalised regret over every surface and seed (1 = a blind pick) ==")
    print(f"{'n':>3} {'b':>2} " + "".join(f"{NAMES[x]:>17}" for x in strategies))
    for budget in s.budgets:
        for batch in s.batches:
            row = [np.median(results.normalised(x, budget, batch, names)) for x in strategies]
            print(f"{budget:>3} {batch:>2} " + "".join(f"{v:17.4f}" for v in row))


def ask_table(results: Results) -> None:
    s = results.settings
    print(f"\n== ask time per trial, ms (median over the {s.longest}-trial runs) ==")
    print(f"{'strategy':<16}" + "".join(f"{f'batch {b}':>10}" for b in s.batches))
    for strategy in STRATEGIES:
        row = [ask_ms_per_trial(results, strategy, b) for b in s.batches]
        print(f"{NAMES[strategy]:<16}" + "".join(_ms(x) for x in row))
    times = results.ask200
    print(
        f"`ask -n 8` on a study of {s.fill} told trials (default strategy, journal in a temp "
        f"dir, opening included): best {min(times):.3f} s, median {statistics.median(times):.3f} s"
        f" of {len(times)}  (target < 1 s: {verdict(min(times) < 1.0)})"
    )


def _ms(x: float | None) -> str:
    return f"{'-':>10}" if x is None else f"{x:10.1f}"


def headlines(results: Results) -> dict[str, Any]:
    """The headline figures, as the JSON holds them."""
    s = results.settings
    names = [x.name for x in SURFACES]
    n, b = s.headline, s.headline_batch
    tpe = results.ratio("default", "tpe", n, b, names)
    out: dict[str, Any] = {
        "budget": n,
        "batch": b,
        "default_vs_tpe": vars(tpe) | {"target": 0.5, "pass": tpe.point <= 0.5},
        "default_vs_random": {},
        "default_vs_random_12": {},
    }
    for name in names:
        r = results.ratio("default", "random", n, b, [name])
        out["default_vs_random"][name] = vars(r) | {"worse_beyond_noise": r.low > 1}
        if 12 in s.budgets:
            r12 = results.ratio("default", "random", 12, b, [name])
            better = r12.point < 1 - TIE
            out["default_vs_random_12"][name] = vars(r12) | {"better": better}
    return out


def headline_table(results: Results) -> None:
    h = headlines(results)
    n, b = h["budget"], h["batch"]
    print("\n== headline ratios of median normalised regret ==")
    print(NOISE)
    tpe = h["default_vs_tpe"]
    print(
        f"suite, {n} trials in batches of {b}: ftsweep default / Optuna TPE defaults = "
        f"{_ratio(tpe)}  (target <= 0.50x: {verdict(tpe['pass'])})"
    )
    print(f"per surface, {n} trials in batches of {b}: ftsweep default / random")
    for name, r in h["default_vs_random"].items():
        worse = r["worse_beyond_noise"]
        note = "worse than random beyond noise" if worse else "not worse beyond noise"
        print(f"  {name:<18} {_ratio(r)}  {note}: {verdict(not worse)}")
    if h["default_vs_random_12"]:
        print(f"per surface, 12 trials in batches of {b}: ftsweep default / random")
        for name, r in h["default_vs_random_12"].items():
            sure = "  (all of the interval below 1)" if r["high"] < 1 else ""
            tie = "  (a tie)" if abs(r["point"] - 1) <= TIE else ""
            print(f"  {name:<18} {_ratio(r)}  better: {verdict(r['better'])}{tie}{sure}")
        every = all(r["better"] for r in h["default_vs_random_12"].values())
        print(f"  better than random on every surface at 12 trials: {verdict(every)}")


def _ratio(r: dict[str, Any]) -> str:
    return f"{r['point']:6.3f}x [{r['low']:.2f}, {r['high']:.2f}]"


def warm_table(results: Results) -> None:
    """The default started from an earlier sweep of the same problem, against it started cold."""
    budgets = results.settings.warm_budgets
    if not budgets:
        return
    print(
        f"\n== warm start: ftsweep default after an earlier {WARM_PRIOR}-trial sweep of the same "
        f"problem (another seed; search: {{warm_start: [...]}}), batches of {WARM_BATCH} =="
    )
    print("median normalised regret, cold -> warm, and warm / cold [interval]")
    print(f"{'surface':<18}" + "".join(f"{f'{b} trials':>34}" for b in budgets))
    for surface in SURFACES:
        cells = []
        for budget in budgets:
            cold = statistics.median(
                o.normalised for o in results.outcomes(surface.name, "default", budget, WARM_BATCH)
            )
            warm = statistics.median(
                o.normalised for o in results.outcomes(surface.name, WARM, budget, WARM_BATCH)
            )
            r = results.warm_ratio(budget, [surface.name])
            cells.append(f"{cold:7.3f} -> {warm:6.3f} {r.point:5.2f}x [{r.low:.2f}, {r.high:.2f}]")
        print(f"{surface.name:<18}" + "".join(f"{c:>34}" for c in cells))
    names = [x.name for x in SURFACES]
    suite = "  ".join(f"{b} trials {results.warm_ratio(b, names).point:.2f}x" for b in budgets)
    print(f"suite, warm / cold: {suite}")


def pruning_table(results: Results) -> None:
    s = results.settings
    if not s.pruning:
        return
    names = [x.name for x in SURFACES]
    print(
        f"\n== pruning: ftsweep default, {s.prune_budget} trials in batches of {PRUNE_BATCH}, "
        f"{s.seeds} seeds, each rule against the same seeds unpruned =="
    )
    print(
        f"{'rule':<14} {'tokens saved':>11} {'(in-run)':>9} {'loss median':>12} "
        f"{'loss mean':>10}   target: saved >= 30%, loss <= 1%"
    )
    for rule in PRUNE_RULES:
        f = prune_figures(results, rule, names)
        print(
            f"{rule:<14} {f.saved:11.1%} {f.saved_within:9.1%} {f.loss_median:12.2%} "
            f"{f.loss_mean:10.2%}   {verdict(f.passes())}"
        )
    print("per surface: tokens saved / mean loss")
    print(f"{'surface':<18}" + "".join(f"{rule:>18}" for rule in PRUNE_RULES))
    for name in names:
        cells = [prune_figures(results, rule, [name]) for rule in PRUNE_RULES]
        print(f"{name:<18}" + "".join(f"{f.saved:>9.0%} /{f.loss_mean:>6.2%}" for f in cells))


def checks_line(results: Results) -> None:
    if not results.checks:
        return
    checks = ", ".join(f"{k} {'same' if v else 'DIFFERENT'}" for k, v in results.checks.items())
    longest = results.settings.longest
    print(f"\nprefix reading: a 12-trial run vs the first 12 of the {longest}-trial run: {checks}")

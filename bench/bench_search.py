"""Benchmark ftsweep's default search against Optuna's TPE defaults, random search and grid.

    python bench/bench_search.py                  # the figures: ~980 s of worker CPU, so
                                                  # 8.5 minutes on 2 idle cores (measured;
                                                  # more on cores shared with others)
    python bench/bench_search.py --quick          # every surface, 12 trials in batches of 4,
                                                  # 2 seeds: checks the code runs (seconds)
    python bench/bench_search.py --json out.json  # the results too, to compare defaults
    options: --seeds N (20), --jobs N (os.cpu_count())

Every strategy runs through ftsweep's real ask/tell path: a sweep file made with
`ftsweep.sweep.load.loads_sweep` (max_trials = the budget, seed = the run's seed), a `SweepStudy`
on a journal file in a temporary directory (/dev/shm when there is one), `study.ask(batch)`,
each trial evaluated on a synthetic surface, and `ftsweep.study.feedback.tell` of the batch
(a failed job is told failed), until the budget is spent or `ask` hands out fewer. A finished
job's result carries the hyperparameters it trained with, "auto" resolved as the surface says
(`Surface.reported`), as a service's job object does; a pruned one carries none.

- ftsweep default: `strategy: tpe` and no `search:` section, whatever that does today. It runs
  each budget separately (its search may depend on max_trials).
- Optuna TPE defaults: `SweepStudy(sweep, sampler=lambda seed: TPESampler(seed=seed))`.
- random: `strategy: random`, ftsweep's seeded random sequence; grid: `strategy: grid`, on the
  surface whose space is finite.
  Neither these nor Optuna's TPE look at max_trials, so one 48-trial run per seed and batch size
  is read at 12, 24 and 48 trials (its first k trials are what a k-trial run hands out; the full
  run checks that once per strategy and prints the result).

Budgets 12, 24 and 48 trials, in batches of 1, 4 and 8, 20 seeds (0 to 19) each. A run
recommends its best *reported* trial; its simple regret is the true (noise-free) value of that
configuration minus the optimum (dense search over the space: `searchbench/reference.py`), in
the objective's direction. "Within 1%": |f(best) - f*| <= 0.01 |f*|. Normalised regret divides by
the surface's gap, the regret of the median of 4,000 random configurations that do not fail, so
1 means "no better than a blind pick" on any surface; the suite figure is the median over every
surface and seed. A ratio of medians is printed with the 90% interval of 1,000 bootstrap
resamples of the seeds (each surface's seeds, each strategy independently: runs of different
strategies are not paired); "worse than random by more than noise" means the whole interval is
above 1. Ask time per trial is the time spent in `ask`, measured in the loop.

Pruning: every configuration has a learning curve (`surfaces.trajectory`): a point at 0.25 and
0.5 epochs and at each epoch end, x = examples seen, from the metric before training towards the
metric a job of that many epochs would end at (so too many epochs dip, then rise), faster for a
higher learning rate; points jitter (sd 0.004, 0.015 for rewards), so curves cross and ranks
shift; a job that diverges improves briefly, then its loss climbs to 2 and it fails at the first
report past 30% of its epochs. ftsweep's default runs 24 trials in batches of 4 without pruning
and with four rules (`runs.PRUNE_RULES`): `default`, what `prune: {}` does (the percentile rule
keeping the best 40% at each point, after a warm-up of one epoch: `warmup_examples: auto`, one
epoch being the surface's examples, as it is for a local training file); the median rule after
the same warm-up; and median and halving judging from a job's first report (a quarter epoch in,
which mostly measures speed, `warmup_examples: 0`); on the same seeds. A batch's jobs train
side by side: at each point (but the last) `ftsweep.study.pruning.judge` sees the job's curve so
far and everyone else's (finished, pruned, and the batch's others so far). A pruned job stops:
the tokens of the rest of its run are saved (tokens = examples seen x tokens per example). The
sweep file of a pruned run holds its `prune:` section, and pruned trials are recorded as
`sync --prune` records them (`runs._tell_pruned`): their curve as intermediate values, then
pruned. Reported: tokens saved against the unpruned
run on the same seed (and within the pruned run), and the relative change of the final best
true value (+ is worse), median and mean over surfaces and seeds; PASS needs saved >= 30% and
both <= 1%.

Printed: the surfaces (optimum, all-auto value, median random value, the share of random
configurations within 1% and failing); per surface, budget and batch size each strategy's
median and 90th-percentile regret and share of runs within 1%; the suite's median normalised
regret per budget and batch size; ask time per trial; the headline ratios with their intervals
and PASS/MISS; the pruning figures; the worker CPU seconds per strategy and the wall time.

`ask -n 8`: a journal study (in a normal temp dir) of the default strategy on sft-sqrt-scaling,
filled with 200 told trials by asking and telling batches of 8; `SweepStudy(...).ask(8)` on three
fresh copies of it, opening included; best and median.

The surfaces (`searchbench/surfaces.py` holds the formulas). Losses run from 0.3 to 2, rewards
from 0.3 to 0.9, optimal learning-rate multipliers lie between 0.1 and 10. "auto" resolves to
what a service plausibly picks when nothing is set, never the optimum: learning_rate_multiplier
1.0, batch_size about 0.2% of the training examples, n_epochs by the cookbook's rule (3 for
these data sizes; 1 for 20,000 examples), beta 0.1 (DPO's usual default), compute_multiplier
1.0, reasoning_effort "default" = medium. Every space offers "auto" for each hyperparameter
that takes it (`auto: true` on a range, or listed).

1. sft-sqrt-scaling (supervised, 4,000 examples; lr 0.05-10 log, batch 1-64 log, epochs 1-10).
   The learning rate and batch size interact: the best multiplier grows with the square root of
   the batch size (0.25 x sqrt(batch): 0.5 at 4, 1.41 at 32), as noise-scale arguments and
   practice suggest, and a too-high rate hurts more than a too-low one. The best epoch count
   falls as the rate rises (4 at the best rate). Large batches help a little (best near 32), so
   the optimum (0.620: batch 32, multiplier 1.41, 4 epochs) needs both tuned together; all-auto
   gives 0.675.
2. dpo-beta-lr (DPO, 1,200 preference pairs; beta 0.01-2 log, lr 0.05-10 log, epochs 1-8,
   batch auto/4/8/16/32). DPO's gradient scales with beta, so the best multiplier falls as beta
   rises (2.0 x sqrt(0.1 / beta)); beta itself is best near 0.25. With so few pairs it overfits:
   the best epoch count is about 2 at the best rate, and extra epochs cost 2.5x what missing ones
   do. Curves start at ln 2 = 0.693, the DPO loss of the reference model. Optimum 0.450, auto
   0.526.
3. rft-effort-grid (reinforcement, 500 examples, finite: 320 configurations; reasoning_effort
   default/low/medium/high, compute_multiplier auto/0.5/1/2/4, lr auto/0.3/1/3, epochs
   auto/1/2/3; maximise valid_reward_mean). More reasoning effort raises the reward ceiling (0.62,
   0.70, 0.74) and makes use of more compute (best compute 0.7, 1.5, 3.0); reinforcement is
   sensitive to a too-high rate (collapse) more than a too-low one. Rewards are noisy (sd 0.02 on
   the reported value: a grader on a small validation set), so a run recommends by a noisy
   report. The space is listed, as such expensive sweeps are, so grid runs here. Optimum 0.731
   (high, compute 4, lr 1.0, 2 epochs), auto 0.684.
4. sft-sharp (supervised, 800 examples, a structured-output task; lr 0.05-10 log, epochs 1-10,
   batch auto/1/2/4/8). A sharp, narrow optimum: a broad bowl around 0.95 (best multiplier
   3.2 x sqrt(batch / 4)) with a narrow well down to 0.45 where the model locks onto the format,
   only within about +-20% of the best rate and near 6 epochs. No random configuration of 4,000
   is within 1%. Auto 0.909.
5. sft-flat (supervised, 20,000 examples; lr 0.05-10 log, epochs 1-5, batch 1-256 log). Lots of
   data makes the outcome insensitive: the loss moves by at most 14% across the whole space, and
   a third of random configurations are within 1% of the optimum (0.850). Auto (1 epoch by the
   cookbook rule) 0.865: a search should not do worse than random here.
6. sft-diverge (supervised, 2,500 examples; lr 0.05-10 log, batch 1-64 log, epochs 1-6). Jobs
   fail at high learning rates: a job diverges, and fails, above 2.5 x sqrt(batch / 8); the best
   rate is 0.75 of that, and the loss climbs steeply just below the edge. About 18% of random
   configurations fail. Optimum 0.700 (batch 16, multiplier 2.65, 3 epochs), auto 0.726.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from searchbench.report import print_all  # noqa: E402
from searchbench.suite import Settings, as_json, run_all  # noqa: E402


def settings(args: argparse.Namespace) -> Settings:
    jobs = args.jobs or os.cpu_count() or 1
    if args.quick:
        return Settings((12,), (4,), args.seeds or 2, jobs, fill=40, checks=False)
    budgets = tuple(args.budgets or (12, 24, 48))
    batches = tuple(args.batches or (1, 4, 8))
    full = budgets == (12, 24, 48) and batches == (1, 4, 8)
    return Settings(budgets, batches, args.seeds or 20, jobs, fill=200, checks=full)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 trials, batch 4, 2 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (20)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (all cores)")
    parser.add_argument("--budgets", type=int, nargs="+", help="budgets to run (12 24 48)")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes to run (1 4 8)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    results = run_all(settings(args))
    print_all(results)
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(results), indent=1) + "\n")
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()

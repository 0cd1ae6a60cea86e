"""Benchmark telling results into a study on PostgreSQL: one transaction against one call each.

    source .ci/postgres.sh && pg_start      # a throwaway server (or name your own)
    python bench/bench_postgres.py          # reads FTSWEEP_TEST_POSTGRES_URL
    python bench/bench_postgres.py --url postgresql+psycopg://user@host/db --results 2000

For each size it makes a study of N running trials (a fresh database each time), then tells N
results (a value, `trained_tokens` and the job record per trial) twice, on two copies:

- baseline: Optuna's public storage API, one call per attribute and per state (what ftsweep did,
  and still does where the RDB storage lacks the helpers `ftsweep.study.store.rdb` uses): one
  commit each;
- ftsweep: `TrialWrites.commit`, which applies the whole tell in one transaction.

It prints the seconds of each, trials per second and the ratio (target: >= 10x), and checks that
both copies hold the same states and values afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from typing import Any

SWEEP = """\
name: pg-bench
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: file-train
validation_file: file-valid
strategy: random
seed: 7
space:
  learning_rate_multiplier: {low: 0.05, high: 5.0, log: true}
  n_epochs: {low: 1, high: 10}
"""


def database(server: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    name = f"ftsweep_bench_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def asked(url: str, n: int) -> Any:
    from ftsweep.study import SweepStudy
    from ftsweep.sweep import loads_sweep

    study = SweepStudy(loads_sweep(SWEEP), url)
    study.ask(n)
    return study


def tell_writes(study: Any) -> Any:
    from optuna.trial import TrialState

    from ftsweep.study.store.writes import TrialWrites

    writes = TrialWrites()
    for trial in study.store.optuna_study().get_trials(deepcopy=False):
        job = {"job_id": f"ftjob-{trial.number}", "status": "succeeded", "trained_tokens": 1000}
        writes.user_attrs(trial._trial_id, {"ftsweep": job})
        writes.finish(trial._trial_id, TrialState.COMPLETE, [0.2 + trial.number / 1e4])
    return writes


def timed_baseline(study: Any) -> float:
    from ftsweep.study.store.writes import _one_by_one

    writes = tell_writes(study)
    start = time.perf_counter()
    _one_by_one(study.store.storage, writes._updates)
    return time.perf_counter() - start


def timed_ftsweep(study: Any) -> float:
    writes = tell_writes(study)
    start = time.perf_counter()
    writes.commit(study.store.storage)
    return time.perf_counter() - start


def outcome(study: Any) -> list[tuple[str, Any]]:
    trials = study.store.optuna_study().get_trials(deepcopy=False)
    return [(t.state.name, t.values) for t in trials]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("FTSWEEP_TEST_POSTGRES_URL"))
    parser.add_argument("--results", type=int, nargs="+", default=[500, 2000])
    args = parser.parse_args()
    if not args.url:
        print("no server: give --url or set FTSWEEP_TEST_POSTGRES_URL", file=sys.stderr)
        return 2
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"tell N results on PostgreSQL (optuna {optuna.__version__})")
    print(f"{'N':>6}  {'one call each':>14}  {'one transaction':>16}  {'ratio':>6}")
    for n in args.results:
        base, ours = asked(database(args.url), n), asked(database(args.url), n)
        slow, fast = timed_baseline(base), timed_ftsweep(ours)
        if outcome(base) != outcome(ours):
            print("error: the two copies differ", file=sys.stderr)
            return 1
        print(
            f"{n:>6}  {slow:>10.2f} s ({n / slow:,.0f}/s)  {fast:>9.2f} s ({n / fast:,.0f}/s)"
            f"  {slow / fast:>5.1f}x"
        )
        base.close()
        ours.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

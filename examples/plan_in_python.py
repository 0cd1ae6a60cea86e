"""Plan a sweep from Python and look at its first job requests.

Run from the repository root: python examples/plan_in_python.py
"""

from __future__ import annotations

import json
from pathlib import Path

from ftsweep import load_sweep, plan

SWEEPS = Path(__file__).resolve().parent.parent / "sweeps"


def main() -> None:
    sweep = load_sweep(SWEEPS / "supervised-grid.yaml")
    print(f"{sweep.name}: {sweep.strategy} over {sweep.space.size} configurations")
    trials = plan(sweep, limit=3)
    for trial in trials:
        print(trial.key, trial.params)
    first = next(iter(trials.bodies()))
    print(json.dumps(first, indent=2))
    # With the openai client: client.fine_tuning.jobs.create(**first)


if __name__ == "__main__":
    main()

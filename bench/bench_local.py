"""The local backend's costs: a trial's overhead beside its training, and trials in parallel.

    python bench/bench_local.py            # about 4 minutes on 2 cores
    python bench/bench_local.py --quick    # 2 trials a sweep, 1 repeat: checks that it runs

Everything runs on the CPU, offline, on a tiny model built on the spot (`ftsweep.local.tiny`)
and the bundled supervised data (`examples/data/support-*.jsonl`), each process with
OMP_NUM_THREADS=1.

1. The import cost of torch + transformers + trl: a fresh `python -c "import torch,
   transformers; from trl import SFTConfig, SFTTrainer"` (a bare `import trl` imports no
   trainer: TRL loads them lazily), wall time, median of the repeats (the baseline of the
   overhead target).
2. One trial's overhead: the trainer (`python -m ftsweep.local.runner JOB OUT`) run on a job
   folder that `ftsweep submit` wrote, timed from outside; its training time is what its log says
   between "trainer built" and "training ended"; the overhead is the rest: interpreter start,
   imports, reading and converting the data, loading the model, writing the results. Target:
   overhead < import cost + 1 s.
3. A 6-trial TPE sweep through `ftsweep run --parallel 2` against the same sweep with
   `--parallel 1` (one trial after another), wall time of the whole command each, on a fresh
   storage and folder each.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
PYTHON = sys.executable
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
_PHASE = re.compile(r"ftsweep\.local: (?P<what>.+) at \+(?P<at>[0-9.]+)s")


def sweep_text(model: Path, trials: int, steps: int, name: str = "bench-local") -> str:
    return f"""\
name: {name}
method: supervised
model: {model}
training_file: {DATA / "support-train.jsonl"}
validation_file: {DATA / "support-valid.jsonl"}
strategy: tpe
max_trials: {trials}
seed: 5
space:
  learning_rate_multiplier: {{low: 1.0, high: 300.0, log: true}}
  batch_size: [2, 4]
  n_epochs: [1, 2]
objective: {{metric: full_valid_loss}}
service: {{provider: local, poll_interval: 0.2, max_steps: {steps}}}
"""


def timed(command: list[str]) -> float:
    return run(command)[0]


def run(command: list[str]) -> tuple[float, str]:
    """Wall seconds of the command, and what it wrote to stderr."""
    start = time.perf_counter()
    done = subprocess.run(command, check=True, env=ENV, capture_output=True, text=True)
    return time.perf_counter() - start, done.stderr


def import_cost(repeats: int) -> float:
    code = "import torch, transformers; from trl import SFTConfig, SFTTrainer"
    return statistics.median(timed([PYTHON, "-c", code]) for _ in range(repeats))


def trial_overhead(work: Path, model: Path, repeats: int, steps: int) -> list[tuple[float, float]]:
    """(wall, training) seconds of the trainer on one job, run `repeats` times afresh."""
    sweep = work / "one.yaml"
    sweep.write_text(sweep_text(model, 1, steps, name="bench-one"))
    storage = work / "one.log"
    subprocess.run(
        [PYTHON, "-m", "ftsweep", "submit", str(sweep), "-n", "1", "--storage", str(storage)],
        check=True,
        env=ENV,
        capture_output=True,
    )
    (made,) = (work / ".ftsweep" / "local" / "jobs" / "bench-one").glob("ftjob-local-*")
    _wait_done(made)
    out = []
    for n in range(repeats):
        folder = work / f"again-{n}"
        folder.mkdir()
        shutil.copy(made / "job.json", folder / "job.json")
        wall, log = run(
            [PYTHON, "-m", "ftsweep.local.runner", str(folder / "job.json"), str(folder)]
        )
        out.append((wall, _training(log)))
    return out


def _wait_done(folder: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = folder / "status.json"
        if status.exists() and '"succeeded"' in status.read_text():
            return
        if status.exists() and re.search(r'"status": "(failed|cancelled)"', status.read_text()):
            log = (folder / "runner.log").read_text().strip().splitlines()
            raise SystemExit(f"the trial failed: {log[-1] if log else 'no log'}")
        time.sleep(0.2)
    raise SystemExit("the trial did not finish in 10 minutes")


def _training(log: str) -> float:
    marks = {m["what"].split(" (")[0]: float(m["at"]) for m in _PHASE.finditer(log)}
    return marks["training ended"] - marks["model loaded"]


def sweep_wall(work: Path, model: Path, trials: int, parallel: int, steps: int) -> float:
    folder = work / f"sweep-p{parallel}"
    folder.mkdir()
    sweep = folder / "sweep.yaml"
    sweep.write_text(sweep_text(model, trials, steps))
    command = [PYTHON, "-m", "ftsweep", "run", str(sweep), "--parallel", str(parallel)]
    return timed([*command, "--storage", str(folder / "journal.log")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 trials a sweep, 1 repeat")
    args = parser.parse_args()
    repeats, trials, steps = (1, 2, 4) if args.quick else (3, 6, 24)
    with tempfile.TemporaryDirectory(prefix="ftsweep-bench-") as tmp:
        work = Path(tmp)
        model = work / "tiny-model"
        subprocess.run(
            [PYTHON, "-m", "ftsweep.local.tiny", str(model)],
            check=True,
            env=ENV,
            capture_output=True,
        )
        imports = import_cost(repeats)
        runs = trial_overhead(work, model, repeats, steps)
        walls = {p: sweep_wall(work, model, trials, p, steps) for p in (1, 2)}
    wall = statistics.median(w for w, _ in runs)
    training = statistics.median(t for _, t in runs)
    overhead = statistics.median(w - t for w, t in runs)
    print(f"bench_local: tiny supervised model, {steps} steps a trial, CPU, OMP_NUM_THREADS=1")
    print(
        f"import torch, transformers and trl's SFTTrainer (a fresh process, median of "
        f"{repeats}): {imports:.2f} s"
    )
    print(
        f"one trial, median of {repeats}: wall {wall:6.2f} s = training {training:6.2f} s "
        f"+ overhead {overhead:6.2f} s"
    )
    target = imports + 1.0
    print(
        f"overhead / (import cost + 1 s) = {overhead / target:.2f}x  "
        f"(target < 1: {'PASS' if overhead < target else 'MISS'})"
    )
    print(
        f"{trials}-trial TPE sweep, ftsweep run: --parallel 1 {walls[1]:6.1f} s, "
        f"--parallel 2 {walls[2]:6.1f} s: {walls[1] / walls[2]:.2f}x faster "
        f"({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()

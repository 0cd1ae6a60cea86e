"""ftsweep's benchmarks, with their baselines measured in the same run.

    python bench/run.py            # everything
    python bench/run.py --quick    # fewer repeats, a 200,000-trial grid

1. Start-up: median wall time of `ftsweep --help` and `ftsweep validate` against `optuna --help`
   (target: at most half).
2. Planning: `ftsweep plan --format jsonl -o FILE` on a 1,000,000-trial grid, trials/s and peak RSS
   (target: >= 200,000 trials/s under 200 MB), against a naive loop that validates a pydantic
   `JobRequest` per trial and dumps it, and against the floor: orjson on prebuilt dicts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MILLION = HERE / "sweeps" / "million-grid.yaml"
VALIDATE = HERE.parent / "sweeps" / "dpo-beta.yaml"

# The least a typer CLI on this stack can cost: typer 0.2x coerces arguments with pydantic, and
# reading YAML needs PyYAML; this does both and nothing else.
FLOOR_CLI = """
from pathlib import Path
from typing import Annotated
import typer
app = typer.Typer()
@app.command()
def validate(paths: Annotated[list[Path], typer.Argument()], verbose: bool = False) -> None:
    import yaml
    for path in paths:
        yaml.safe_load(path.read_text())
@app.command()
def other() -> None:
    pass
app()
"""

NAIVE = """
import sys, time
from ftsweep import load_sweep, plan
from ftsweep.api import JobRequest
sweep = load_sweep(sys.argv[1]); n = int(sys.argv[2])
bodies = plan(sweep, n).bodies()
start = time.perf_counter()
with open(sys.argv[3], "w") as out:
    for body in bodies:  # what a per-trial loop does: build, validate, dump
        out.write(JobRequest.model_validate(body).model_dump_json(exclude_none=True) + "\\n")
print(n / (time.perf_counter() - start))
"""

FLOOR = """
import sys, time, orjson
from ftsweep import load_sweep, plan
sweep = load_sweep(sys.argv[1]); n = int(sys.argv[2])
bodies = list(plan(sweep, n).bodies())
start = time.perf_counter()
with open(sys.argv[3], "wb") as out:
    for body in bodies:
        out.write(orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE))
print(n / (time.perf_counter() - start))
"""


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes, and stdout of one command, measured for it alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss * 1024, out


def median_time(cmd: list[str], repeats: int) -> float:
    run(cmd)  # warm the file cache and bytecode
    return statistics.median(run(cmd)[0] for _ in range(repeats))


def startup(repeats: int) -> None:
    optuna = shutil.which("optuna", path=str(BIN)) or "optuna"
    ftsweep = str(BIN / "ftsweep")
    base = median_time([optuna, "--help"], repeats)
    print(f"start-up, median of {repeats} runs")
    print(f"  optuna --help            {base * 1000:7.1f} ms   (baseline)")
    floor = [sys.executable, "-c", FLOOR_CLI, "validate", str(VALIDATE)]
    for label, cmd in (
        ("ftsweep --help", [ftsweep, "--help"]),
        ("ftsweep validate", [ftsweep, "validate", str(VALIDATE)]),
        ("bare typer + yaml CLI", floor),
    ):
        took = median_time(cmd, repeats)
        verdict = "ok" if took <= base / 2 else "MISSES the target"
        ratio = f"{took / base:.2f}x optuna  (<= 0.50x: {verdict})"
        print(f"  {label:<24} {took * 1000:7.1f} ms   {ratio}")


def planning(trials: int, naive_trials: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.jsonl"
        cmd = [str(BIN / "ftsweep"), "plan", str(MILLION), "-f", "jsonl", "-o", str(out)]
        took, rss, _ = run([*cmd, "--limit", str(trials)])
        lines = sum(1 for _ in out.open("rb"))
        assert lines == trials, f"wrote {lines} lines, expected {trials}"
        rate = trials / took
        python = sys.executable
        naive = float(run([python, "-c", NAIVE, str(MILLION), str(naive_trials), str(out)])[2])
        floor = float(run([python, "-c", FLOOR, str(MILLION), str(naive_trials), str(out)])[2])
    print(
        f"\nplan --format jsonl -o FILE, {trials:,}-trial grid (whole command, start-up included)"
    )
    print(f"  ftsweep plan             {rate:10,.0f} trials/s  peak RSS {rss / 2**20:6.1f} MB")
    print(
        f"    target >= 200,000 trials/s and < 200 MB: "
        f"{'ok' if rate >= 200_000 and rss < 200 * 2**20 else 'MISSED'}"
    )
    print(f"  naive pydantic loop      {naive:10,.0f} trials/s  (ftsweep is {rate / naive:.1f}x)")
    print(
        f"  orjson on prebuilt dicts {floor:10,.0f} trials/s  (floor: {rate / floor:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller grid")
    args = parser.parse_args()
    startup(repeats=5 if args.quick else 15)
    planning(trials=200_000 if args.quick else 1_000_000, naive_trials=20_000)


if __name__ == "__main__":
    main()

"""Benchmark `ftsweep check` of a 50,000-row reinforcement file with a multi grader.

    python bench/bench_check.py            # 50,000 training rows and 1,000 validation rows
    python bench/bench_check.py --quick    # 5,000 and 500

The data is generated (deterministic seed, into a temporary directory removed afterwards):
invoice-extraction rows in the shape of `sweeps/rft-multi-grader.yaml` (a system and a user
message holding an invoice's text, and the fields `total`, `vendor` and a nested `meta.currency`
the grader reads), 1 row in 500 lacking a field, so that the missing-field tally has work. The
sweep's grader is that of the bundled sweep plus a score_model sub-grader reading
`{{ item.meta.currency }}`, so every kind of template check runs on every row.

Measured, each as a whole command in a process of its own (start-up, sweep load and the
tokenizer's table included), in the same run:

  a) `ftsweep check SWEEP` (the default: in-process below 32 MB, every core above)
  b) the same checks through the library with the scan forced onto both cores (a file this
     size runs in-process by default, since starting workers costs more than they save)
  c) a plain loop as the baseline: `json.loads` of each line and nothing else, to show what
     the checks cost on top of reading the file

Prints wall time, rows/s and MB/s of each, and the ratio of a) to c).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 20261201
VENDORS = ["Acme Corp", "Globex", "Initech", "Umbrella plc", "Stark Industries", "Wayne & Co"]
ITEMS = ["widgets", "bolts", "consulting hours", "licences", "cables", "support plan", "paper"]

SWEEP = """\
name: bench-check
method: reinforcement
model: o4-mini-2025-04-16
training_file: train.jsonl
validation_file: valid.jsonl
max_trials: 4
space:
  reasoning_effort: [low, medium]
grader:
  type: multi
  name: invoice
  graders:
    total:
      type: string_check
      name: total
      input: "{{ sample.output_json.total }}"
      reference: "{{ item.total }}"
      operation: eq
    vendor:
      type: text_similarity
      name: vendor
      input: "{{ sample.output_json.vendor }}"
      reference: "{{ item.vendor }}"
      evaluation_metric: fuzzy_match
    currency:
      type: score_model
      name: currency
      model: gpt-4.1-mini-2025-04-14
      input:
        - role: user
          content: "Is {{ sample.output_json.currency }} the currency {{ item.meta.currency }}?"
  calculate_output: "0.6 * total + 0.3 * vendor + 0.1 * currency"
response_format:
  type: json_schema
  json_schema:
    name: invoice_fields
    strict: true
    schema:
      type: object
      properties:
        total: {type: string}
        vendor: {type: string}
        currency: {type: string}
      required: [total, vendor, currency]
      additionalProperties: false
"""


def invoice(rng: random.Random) -> dict[str, object]:
    vendor = rng.choice(VENDORS)
    lines = [
        f"{rng.randint(1, 40)} x {rng.choice(ITEMS)} at {rng.uniform(1, 500):.2f}"
        for _ in range(rng.randint(2, 12))
    ]
    total = f"{rng.uniform(10, 20_000):.2f}"
    text = f"INVOICE {rng.randint(10_000, 99_999)}\nFrom: {vendor}\n" + "\n".join(lines)
    row: dict[str, object] = {
        "messages": [
            {"role": "developer", "content": "Extract the total, the vendor and the currency."},
            {"role": "user", "content": text + f"\nTOTAL DUE: {total}"},
        ],
        "total": total,
        "vendor": vendor,
        "meta": {"currency": rng.choice(["USD", "EUR", "GBP"]), "pages": rng.randint(1, 3)},
    }
    if rng.random() < 0.002:
        del row[rng.choice(["total", "vendor"])]
    return row


def write(path: Path, rows: int, rng: random.Random) -> None:
    with path.open("w") as stream:
        for _ in range(rows):
            stream.write(json.dumps(invoice(rng)) + "\n")


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.stdout + done.stderr


BASELINE = """
import json, sys
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        json.loads(line)
        n += 1
print(n)
"""

POOLED = """
import sys
from pathlib import Path
from ftsweep.data.check import check_data
from ftsweep.sweep import load_sweep
sweep = load_sweep(sys.argv[1])
files = {"training": Path(sys.argv[2]), "validation": Path(sys.argv[3])}
report = check_data(sweep.method, files, tokenizer="o200k_base", grader=sweep.grader,
                    response_format=sweep.response_format, workers=2)
print(report.errors, report.warnings)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows instead of 50,000")
    args = parser.parse_args()
    train_rows, valid_rows = (5_000, 500) if args.quick else (50_000, 1_000)
    rng = random.Random(SEED)
    ftsweep = [sys.executable, "-m", "ftsweep"]
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        write(where / "train.jsonl", train_rows, rng)
        write(where / "valid.jsonl", valid_rows, rng)
        (where / "sweep.yaml").write_text(SWEEP)
        size = (where / "train.jsonl").stat().st_size + (where / "valid.jsonl").stat().st_size
        rows = train_rows + valid_rows
        env_cache = {**os.environ, "FTSWEEP_CACHE_DIR": str(where / "cache")}
        os.environ.update(env_cache)
        print(
            f"{rows:,} rows, {size / 1e6:.1f} MB, multi grader of 3 (string_check, "
            "text_similarity, score_model), on",
            os.cpu_count(),
            "cores",
        )
        a, out = timed([*ftsweep, "check", "sweep.yaml"], where)
        print(f"  the last lines of `ftsweep check`: {' | '.join(out.strip().splitlines()[-3:])}")
        b, _ = timed(
            [sys.executable, "-c", POOLED, "sweep.yaml", "train.jsonl", "valid.jsonl"], where
        )
        c, _ = timed([sys.executable, "-c", BASELINE, "train.jsonl"], where)
        for label, seconds in [
            ("a) ftsweep check (whole command)", a),
            ("b) check on 2 workers (library)", b),
            ("c) baseline: json.loads of each line", c),
        ]:
            print(
                f"{label:40s} {seconds:6.2f} s  {rows / seconds:9,.0f} rows/s  "
                f"{size / 1e6 / seconds:6.1f} MB/s"
            )
        print(f"check costs {a / c:.1f}x a plain json.loads loop over the same rows")


if __name__ == "__main__":
    main()

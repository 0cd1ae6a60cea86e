"""bench/bench_search.py --quick runs and prints every table (its figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_search.py"
HEADINGS = (
    "== surfaces",
    "== simple regret",
    "== suite",
    "== ask time per trial",
    "== headline ratios",
    "== warm start",
    "== pruning",
    "wall time of the whole run",
)


def test_quick_run_prints_every_table(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--jobs", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for heading in HEADINGS:
        assert heading in proc.stdout, f"no {heading!r} in:\n{proc.stdout}"
    results = json.loads(out.read_text())
    assert {"cells", "headlines", "pruning", "surfaces"} <= set(results)

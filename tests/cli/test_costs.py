"""Cost on the command line: `plan` shows estimates and totals and marks the trials past the
budget, `ask` stops at the budget (also with workers asking at once), `trials` shows estimated and
actual cost, and price files are read with their errors named."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app

runner = CliRunner()
#: 20 rows of about 20 tokens each
ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"What is {i} times three?"},
            {"role": "assistant", "content": f"{i} times three is {3 * i}."},
        ]
    }
    for i in range(20)
]


def sweep(tmp_path: Path, extra: str = "", prices: bool = True) -> Path:
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    table = "prices: {gpt-4.1-mini: {per_1m_trained_tokens: 5000.0}}\n" if prices else ""
    path = tmp_path / "costs.yaml"
    path.write_text(
        "name: costs\nmethod: supervised\nmodel: gpt-4.1-mini-2025-04-14\n"
        "training_file: train.jsonl\nstrategy: grid\n"
        f"space:\n  n_epochs: [1, 2, 3, auto]\n{table}{extra}"
    )
    return path


def tokens_per_epoch(tmp_path: Path) -> int:
    from ftsweep.data.counts import count_file

    return count_file(tmp_path / "train.jsonl", "supervised", "o200k_base").total_capped


def test_plan_csv_has_the_estimate_columns_of_the_trials_frame(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", str(sweep(tmp_path)), "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    per_epoch = tokens_per_epoch(tmp_path)
    # auto resolves to 5 epochs for 20 examples (3 x 20 < 100: 100 // 20)
    assert [int(r["trained_tokens"]) for r in rows] == [per_epoch * e for e in (1, 2, 3, 5)]
    assert [float(r["estimated_cost"]) for r in rows] == pytest.approx(
        [per_epoch * e * 5000 / 1e6 for e in (1, 2, 3, 5)]
    )
    total = per_epoch * 11
    assert result.stderr == (
        f"4 trials: {total:,} trained tokens · estimated cost {total * 5000 / 1e6:,.2f}\n"
    )


def test_plan_marks_the_trials_past_the_budget(tmp_path: Path) -> None:
    sweep(tmp_path)
    per_epoch = tokens_per_epoch(tmp_path)
    budget = f"budget: {{max_trained_tokens: {per_epoch * 4}}}\n"  # 1 + 2 fit, + 3 does not
    result = runner.invoke(app, ["plan", str(sweep(tmp_path, budget)), "-f", "csv"])
    assert [r["over_budget"] for r in csv.DictReader(io.StringIO(result.stdout))] == [
        "false",
        "false",
        "true",
        "true",
    ]
    table = runner.invoke(app, ["plan", str(sweep(tmp_path, budget))])
    assert f"budget max_trained_tokens {per_epoch * 4:,}: over budget from trial 2" in " ".join(
        table.stdout.split()
    )


def test_plan_without_local_data_shows_no_estimates(tmp_path: Path) -> None:
    path = sweep(tmp_path)
    path.write_text(path.read_text().replace("train.jsonl", "file-abc"))
    result = runner.invoke(app, ["plan", str(path), "-f", "csv"])
    assert result.stdout.splitlines()[0] == "trial,key,n_epochs"
    assert result.stderr == ""


def test_ask_stops_at_the_budget_and_says_so(tmp_path: Path) -> None:
    sweep(tmp_path)
    per_epoch = tokens_per_epoch(tmp_path)
    path = sweep(tmp_path, f"budget: {{max_trained_tokens: {per_epoch * 4}}}\n")
    first = runner.invoke(app, ["ask", str(path), "-n", "4", "-o", str(tmp_path / "b1.jsonl")])
    assert first.exit_code == 0, first.output
    assert "2 trial(s) of 4 asked for (budget max_trained_tokens" in first.stderr
    again = runner.invoke(app, ["ask", str(path), "-n", "1", "-o", str(tmp_path / "b2.jsonl")])
    assert again.exit_code == 3
    assert f"no trial handed out to {tmp_path / 'b2.jsonl'}: budget max_trained_tokens" in (
        again.stderr
    )
    assert (tmp_path / "b2.jsonl").read_text() == ""


def test_a_price_missing_for_a_cost_budget_stops_ask(tmp_path: Path) -> None:
    path = sweep(tmp_path, "budget: {max_cost: 1.0}\n", prices=False)
    result = runner.invoke(app, ["ask", str(path), "-n", "1"])
    assert result.exit_code == 2
    assert "budget: max_cost needs a price for model 'gpt-4.1-mini-2025-04-14'" in result.stderr
    assert result.stdout == ""


def test_a_price_file_overrides_the_sweep_files_prices_and_its_errors_are_named(
    tmp_path: Path,
) -> None:
    path = sweep(tmp_path)
    cheap = tmp_path / "prices.yaml"
    cheap.write_text("prices:\n  gpt-4.1-mini-2025-04-14: {per_1m_trained_tokens: 1.0}\n")
    result = runner.invoke(app, ["plan", str(path), "-f", "csv", "--prices", str(cheap)])
    per_epoch = tokens_per_epoch(tmp_path)
    first = next(csv.DictReader(io.StringIO(result.stdout)))
    assert float(first["estimated_cost"]) == pytest.approx(per_epoch / 1e6)
    cheap.write_text("prices:\n  gpt-4.1-mini: {per_1m_trained_tokens: -1, per_day: 3}\n")
    bad = runner.invoke(app, ["plan", str(path), "--prices", str(cheap)])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines()[1:] == [
        f"{cheap}:2:18: prices.gpt-4.1-mini.per_1m_trained_tokens: Input should be greater "
        "than or equal to 0 (got -1)",
        f"{cheap}:2:45: prices.gpt-4.1-mini.per_day: unknown key",
    ]


def test_the_environment_names_a_price_file(tmp_path: Path) -> None:
    path = sweep(tmp_path, prices=False)
    table = tmp_path / "team.yaml"
    table.write_text("prices: {gpt-4.1-mini: {per_1m_trained_tokens: 2.0}}\n")
    result = runner.invoke(
        app, ["plan", str(path), "-f", "csv"], env={"FTSWEEP_PRICES": str(table)}
    )
    first = next(csv.DictReader(io.StringIO(result.stdout)))
    assert float(first["estimated_cost"]) == pytest.approx(tokens_per_epoch(tmp_path) * 2 / 1e6)


def test_trials_show_estimated_and_actual_cost(tmp_path: Path) -> None:
    path = sweep(tmp_path)
    runner.invoke(app, ["ask", str(path), "-n", "2", "-o", str(tmp_path / "b.jsonl")])
    results = tmp_path / "results.csv"
    results.write_text("trial,full_valid_loss,trained_tokens\n0,0.5,100\n")
    assert runner.invoke(app, ["tell", str(path), str(results)]).exit_code == 0
    out = runner.invoke(app, ["trials", str(path), "-f", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    per_epoch = tokens_per_epoch(tmp_path)
    assert float(rows[0]["estimated_cost"]) == pytest.approx(per_epoch * 5000 / 1e6)
    assert float(rows[0]["actual_cost"]) == pytest.approx(0.5)  # 100 tokens at 5,000 a million
    assert rows[1]["actual_cost"] == ""


def test_workers_asking_at_once_never_go_over_the_budget(tmp_path: Path) -> None:
    """Eight processes ask at the same moment; the budget holds 3 of the 4 trials' estimates."""
    sweep(tmp_path)
    per_epoch = tokens_per_epoch(tmp_path)
    path = sweep(tmp_path, f"budget: {{max_trained_tokens: {per_epoch * 6}}}\n")
    command = [sys.executable, "-m", "ftsweep", "ask", str(path), "-n", "1", "-o"]
    workers = [
        subprocess.Popen([*command, str(tmp_path / f"w{i}.jsonl")], stderr=subprocess.PIPE)
        for i in range(8)
    ]
    codes = [w.wait(timeout=120) for w in workers]
    for w in workers:
        assert w.stderr is not None
        w.stderr.close()
    assert sorted(codes) == [0, 0, 0, 3, 3, 3, 3, 3]
    handed = [
        json.loads(line)["method"]["supervised"]["hyperparameters"]["n_epochs"]
        for i in range(8)
        for line in (tmp_path / f"w{i}.jsonl").read_text().splitlines()
    ]
    assert sorted(handed) == [1, 2, 3]  # 6 epochs' worth: exactly the budget


def test_plan_of_a_budget_it_cannot_estimate_says_so(tmp_path: Path) -> None:
    path = sweep(tmp_path, "budget: {max_cost: 5.0}\n")
    path.write_text(path.read_text().replace("train.jsonl", "file-abc"))
    result = runner.invoke(app, ["plan", str(path), "-f", "csv"])
    assert result.exit_code == 0
    assert "the budget cannot be checked here: training_file is not a local file" in result.stderr

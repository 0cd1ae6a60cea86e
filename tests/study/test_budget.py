"""A sweep's budget as `ask` and `tell` keep it: estimates stored on each trial handed out,
never a trial that would take the sweep over, actuals freeing what estimates held, and a `cost`
objective priced from the job's trained tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftsweep.data.cost import Costing, DataSize
from ftsweep.errors import PlanError
from ftsweep.study import SweepStudy, tell
from ftsweep.study.frame import trial_records
from ftsweep.sweep import load_sweep
from tests.study.test_study import result, sweep_text

PRICES = "prices: {gpt-4.1-mini: {per_1m_trained_tokens: 5.0}}\n"
#: 100 examples of 1,000 tokens: 100,000 tokens an epoch, 0.50 at 5.00 per million
DATA = DataSize(examples=100, tokens=100_000)


def priced_study(tmp_path: Path, extra: str, data: DataSize | None = DATA) -> SweepStudy:
    path = tmp_path / "sweep.yaml"
    space = "  n_epochs: [1, 2, 3, 4, 5, 6]\n"
    path.write_text(sweep_text(space=space, extra=f"max_trials: 6\n{PRICES}{extra}"))
    sweep = load_sweep(path)
    return SweepStudy(sweep, None, Costing(sweep, data, sweep.spec.prices))


def test_each_trial_handed_out_carries_its_estimate(tmp_path: Path) -> None:
    with priced_study(tmp_path, "") as study:
        batch = study.ask(3)
        jobs = [t.job for t in study.trials()]
    assert [b.params["n_epochs"] for b in batch] == [1, 2, 3]
    assert [(j.estimated_tokens, j.estimated_cost) for j in jobs] == [
        (100_000, 0.5),
        (200_000, 1.0),
        (300_000, 1.5),
    ]


def test_ask_never_hands_out_a_trial_that_would_go_over_the_budget(tmp_path: Path) -> None:
    with priced_study(tmp_path, "budget: {max_cost: 3.2}\n") as study:
        first = study.ask(6)
        again = study.ask(1)
    assert [b.params["n_epochs"] for b in first] == [1, 2, 3]  # 0.5 + 1.0 + 1.5 = 3.0
    assert first.shortfall is not None and first.shortfall.kind == "budget"
    assert first.shortfall.reason == (
        "budget max_cost (3.20) reached: 3.00 spent or committed, the next trial needs 2.00"
    )
    assert not again and again.shortfall is not None and again.shortfall.kind == "budget"


def test_an_actual_below_its_estimate_frees_budget(tmp_path: Path) -> None:
    with priced_study(tmp_path, "budget: {max_trained_tokens: 800000}\n") as study:
        assert len(study.ask(6)) == 3  # 100k + 200k + 300k; the next needs 400k
        # trial 2 ran 100,000 tokens, not the 300,000 it was estimated at
        tell(study, [result(trial=2, trained_tokens=100_000, values={"full_valid_loss": 1.0})])
        later = study.ask(6)
    assert [b.params["n_epochs"] for b in later] == [4]  # 100k + 200k + 100k + 400k = 800k


def test_a_budget_without_local_data_is_refused(tmp_path: Path) -> None:
    with priced_study(tmp_path, "budget: {max_cost: 10}\n", data=None) as study:
        with pytest.raises(PlanError, match="needs the training data as a local file"):
            study.ask(1)
        assert study.trials() == []


def test_the_frame_shows_estimated_and_actual_cost(tmp_path: Path) -> None:
    with priced_study(tmp_path, "") as study:
        study.ask(2)
        tell(study, [result(trial=0, trained_tokens=123_456, values={"full_valid_loss": 1.0})])
        rows = trial_records(study)
    assert [(r["estimated_cost"], r["actual_cost"]) for r in rows] == [
        (0.5, pytest.approx(0.61728)),
        (1.0, None),
    ]


def test_a_cost_objective_is_told_the_jobs_actual_cost(tmp_path: Path) -> None:
    objective = "objective: [{metric: full_valid_loss}, {metric: cost}]\n"
    with priced_study(tmp_path, objective) as study:
        study.ask(1)
        tell(study, [result(trial=0, trained_tokens=400_000, values={"full_valid_loss": 0.8})])
        (trial,) = study.trials()
    assert trial.values == (0.8, 2.0)


def test_a_cost_objective_without_a_price_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(sweep_text(extra="objective: [{metric: full_valid_loss}, {metric: cost}]\n"))
    sweep = load_sweep(path)
    with pytest.raises(PlanError, match="metric cost needs a price for 'gpt-4.1-mini-2025-04-14'"):
        Costing(sweep, DATA, {}).check()


def test_a_killed_ask_never_lets_the_budget_go_over(tmp_path: Path) -> None:
    """`ask -n 3000` under a budget that holds exactly 400 trials, killed at five moments; a
    rerun hands out the rest, the trials handed out hold exactly the budget, and every reading
    command works on what the kill left."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from typer.testing import CliRunner

    from ftsweep.cli import app
    from ftsweep.data.counts import count_file

    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    rows = "".join(json.dumps({"messages": chat, "n": i}) + "\n" for i in range(20))
    space = "  learning_rate_multiplier: {low: 0.05, high: 5.0, log: true}\n  n_epochs: 1\n"
    for kill, delay in enumerate((0.3, 0.7, 1.0, 1.2, 1.4)):  # the ask takes about 1.7 s
        directory = tmp_path / str(kill)
        directory.mkdir()
        (directory / "train.jsonl").write_text(rows)
        budget = (
            400 * count_file(directory / "train.jsonl", "supervised", "o200k_base").total_capped
        )
        text = sweep_text(strategy="random", space=space).replace("file-train", "train.jsonl")
        sweep = directory / "sweep.yaml"
        sweep.write_text(text + f"budget: {{max_trained_tokens: {budget}}}\n")
        command = [sys.executable, "-m", "ftsweep", "ask", str(sweep), "-n", "3000", "-o"]
        process = subprocess.Popen([*command, str(directory / "b1")], stderr=subprocess.PIPE)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        assert b"Traceback" not in process.communicate()[1]
        shown = CliRunner().invoke(app, ["trials", str(sweep), "-f", "csv"])
        assert "Traceback" not in shown.output
        assert shown.exit_code == 0 or "holds no study of sweep" in shown.stderr  # killed early
        rerun = subprocess.run([*command, str(directory / "b2")], capture_output=True, check=False)
        assert rerun.returncode in (0, 3), rerun.stderr
        with SweepStudy(load_sweep(sweep)) as study:
            live = [t for t in study.trials() if t.live]
        assert len(live) == 400, (delay, len(live))
        assert sum(t.job.estimated_tokens or 0 for t in live) == budget
        final = subprocess.run([*command, str(directory / "b3")], capture_output=True, check=False)
        assert final.returncode == 3 and b"budget max_trained_tokens" in final.stderr


def test_the_actual_cost_is_stored_when_the_trained_tokens_are_told(tmp_path: Path) -> None:
    """`job.actual_cost` is a flat user attribute, so Optuna's own tools show it too."""
    with priced_study(tmp_path, "") as study:
        study.ask(1)
        tell(study, [result(trial=0, trained_tokens=200_000, values={"full_valid_loss": 1.0})])
        (trial,) = study.trials()
        path = study.location.path
    assert trial.job.actual_cost == 1.0
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    (frozen,) = optuna.load_study(study_name="s", storage=storage).trials
    assert frozen.user_attrs["job.actual_cost"] == 1.0
    assert frozen.user_attrs["job.estimated_cost"] == 0.5


def test_a_study_opened_without_costing_makes_one_for_its_budget(tmp_path: Path) -> None:
    rows = (
        '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
    )
    (tmp_path / "train.jsonl").write_text(rows * 12)
    path = tmp_path / "sweep.yaml"
    text = sweep_text(space="  n_epochs: [1, 2, 3]\n").replace("file-train", "train.jsonl")
    path.write_text(text + "budget: {max_trained_tokens: 1}\n")
    with SweepStudy(load_sweep(path)) as study:
        batch = study.ask(3)
    assert not batch and batch.shortfall is not None and batch.shortfall.kind == "budget"

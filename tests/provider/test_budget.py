"""Budgets on the service: `submit` and `run` never create a job that takes the sweep over its
budget, a budget lowered after `ask` holds back the trials it no longer covers, and the money a
run committed stays within it once the jobs report what they trained."""

from __future__ import annotations

from pathlib import Path

from ftsweep.data.cost import costing_for
from ftsweep.provider import run, submit
from ftsweep.study import SweepStudy
from ftsweep.sweep import load_sweep
from ftsweep.testing import StandIn
from tests.provider.conftest import FAST, backend_of, write_sweep


def priced(path: Path) -> SweepStudy:
    sweep = load_sweep(path)
    return SweepStudy(sweep, None, costing_for(sweep))


def per_epoch(path: Path) -> int:
    size = costing_for(load_sweep(path)).data
    assert size is not None and size.examples == 20
    return size.tokens


def test_submit_asks_no_trial_past_the_budget(env: StandIn, tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    budget = 5 * per_epoch(path)  # n_epochs is 1 to 4: a few trials fit, never all 20
    path = write_sweep(tmp_path, extra=f"budget: {{max_trained_tokens: {budget}}}\n")
    with priced(path) as study:
        report = submit(study, backend_of(study), count=20, retry=FAST)
        trials = study.trials()
        spent = study.costing.spent(trials) if study.costing else None
    assert report.shortfall is not None and report.shortfall.kind == "budget"
    assert 1 <= len(report.created) < 20 and len(env.jobs) == len(report.created)
    assert spent is not None and spent.trained_tokens <= budget
    assert all(t.job.estimated_tokens for t in trials)


def test_a_budget_lowered_after_ask_holds_back_what_it_no_longer_covers(
    env: StandIn, tmp_path: Path
) -> None:
    path = write_sweep(tmp_path)
    with priced(path) as study:
        asked = study.ask(4)
    estimates = [t.job.estimated_tokens or 0 for t in study.trials()]
    lowered = estimates[0] + estimates[1]
    path = write_sweep(tmp_path, extra=f"budget: {{max_trained_tokens: {lowered}}}\n")
    with priced(path) as study:
        report = submit(study, backend_of(study), retry=FAST)
    assert sorted(report.created) == sorted(a.key for a in asked[:2])
    assert [key for key, _ in report.skipped] == [a.key for a in asked[2:]]
    assert all("budget max_trained_tokens" in why for _, why in report.skipped)
    assert len(env.jobs) == 2


def test_run_ends_at_the_budget_within_it(env: StandIn, tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    budget = 8 * per_epoch(path)
    path = write_sweep(tmp_path, extra=f"budget: {{max_trained_tokens: {budget}}}\n")
    with priced(path) as study:
        report = run(study, backend_of(study), parallel=2, interval=0.05, retry=FAST)
        trials = study.trials()
        spent = study.costing.spent(trials) if study.costing else None
    assert report.ended.startswith("budget max_trained_tokens")
    assert all(t.state.finished for t in trials) and len(trials) < 20
    assert spent is not None and spent.trained_tokens <= budget

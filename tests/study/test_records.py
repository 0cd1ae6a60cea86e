"""Trial records and writes (`ftsweep.study.records`), and planning a tell over them alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import ResultsError
from ftsweep.study.feedback import plan_tell
from ftsweep.study.records import (
    Finish,
    JobRecord,
    RecordJob,
    State,
    TrialRecord,
    current,
)

from .test_study import make_study, result, sweep_text


def record(number: int, **fields: Any) -> TrialRecord:
    base: dict[str, Any] = {"params": {"n_epochs": 1, "batch_size": "auto"}, "state": State.RUNNING}
    return TrialRecord(number, f"s-{number:04d}", **{**base, **fields})


def test_current_takes_the_latest_live_replacement_in_the_originals_order() -> None:
    trials = [
        record(0, state=State.COMPLETE, values=(0.5,)),
        record(1, discarded="batch not written", state=State.FAIL),
        record(2),
        record(3, supersedes=0, state=State.COMPLETE, values=(0.4,)),
        record(4, supersedes=0, state=State.COMPLETE, values=(0.3,)),
    ]
    assert [t.number for t in current(trials)] == [4, 2]


def test_only_the_sweeps_own_live_originals_count_against_max_trials() -> None:
    assert record(0).counts
    assert not record(1, discarded="batch not written").counts
    assert not record(2, supersedes=0).counts
    assert not record(3, params=None).counts  # plain Optuna added it
    assert record(3, params=None).foreign and record(3, params=None).live


def test_a_tell_is_planned_over_records_without_a_storage(tmp_path: Path) -> None:
    sweep = make_study(tmp_path, sweep_text()).sweep
    trials = [record(0), record(1, job=JobRecord(id="ftjob-1", status="running"))]
    told = [
        result(trial=0, values={"full_valid_loss": 0.5}, job_id="ftjob-0"),
        result(job_id="ftjob-1", status="running", trained_tokens=10),
    ]
    report, writes = plan_tell(sweep, trials, told, force=False)
    assert (report.finished, report.updated) == (1, 1)
    assert writes == [
        RecordJob(0, JobRecord(id="ftjob-0", status="succeeded"), config=False),
        Finish(0, State.COMPLETE, (0.5,), None),
        RecordJob(1, JobRecord(id="ftjob-1", status="running", trained_tokens=10)),
    ]
    assert not (tmp_path / ".ftsweep").exists()


def test_a_planned_tell_that_conflicts_is_refused_whole(tmp_path: Path) -> None:
    sweep = make_study(tmp_path, sweep_text()).sweep
    trials = [record(0, state=State.COMPLETE, values=(0.5,)), record(1)]
    told = [
        result(trial=1, values={"full_valid_loss": 0.1}),
        result(trial=0, values={"full_valid_loss": 0.9}),
    ]
    with pytest.raises(ResultsError, match="s-0000: is already complete"):
        plan_tell(sweep, trials, told, force=False)

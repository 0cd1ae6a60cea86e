"""Stopping hopeless jobs early (`prune:`), through the CLI against the stand-in service.

Most tests move the stand-in's clock by hand, so a job is exactly where the test says when a
command looks at it: trial 0 (learning rate multiplier 1.0) has finished, trial 1 (0.05, a
hopeless one) is running its third epoch of four. The sweep prunes with the median rule once one
trial has finished.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app
from ftsweep.data.cost import costing_for
from ftsweep.provider import submit, sync
from ftsweep.provider.files import upload_data_files
from ftsweep.study.records import Pruned, State, TrialRecord
from ftsweep.sweep import load_sweep
from ftsweep.testing import Fault, ManualClock, StandIn
from ftsweep.testing.lifecycle import JobRecord as ServiceJob
from tests.provider.conftest import (
    MODEL,
    backend_of,
    chat_lines,
    jobs_per_trial,
    open_study,
    point_at_openai,
)
from tests.provider.test_commands import FTSWEEP, environment
from tests.terminal import on_terminal

runner = CliRunner()

SWEEP = """\
name: pr
method: supervised
model: {model}
training_file: data/train.jsonl
validation_file: data/valid.jsonl
strategy: grid
max_trials: {max_trials}
space:
  learning_rate_multiplier: [{rates}]
  n_epochs: 4
job:
  suffix: "p-{{trial}}"
service:
  poll_interval: 0.1
prices:
  {model}: {{per_1m_trained_tokens: 5.0}}
{prune}"""
PRUNE = "prune: {rule: median, startup_trials: 1}\n"
PHASE = 1.0  # seconds per job phase (the stand-in's clock): 80 steps run in the third one


def write_sweep(
    folder: Path,
    rates: str = "1.0, 0.05, 1.1",
    *,
    max_trials: int = 10,
    prune: str = PRUNE,
) -> Path:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "train.jsonl").write_text(chat_lines(20))  # batch size auto: 1, so 20 steps an epoch
    (data / "valid.jsonl").write_text(chat_lines(5, "v"))
    path = folder / "sweep.yaml"
    text = SWEEP.format(model=MODEL, max_trials=max_trials, rates=rates, prune=prune)
    path.write_text(text)
    return path


@pytest.fixture
def manual(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in on a clock that moves only when a test says, the environment at it."""
    with StandIn(clock=ManualClock(time.time()), phase_seconds=PHASE) as service:
        point_at_openai(service, monkeypatch)
        yield service


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def submitted(service: StandIn, path: Path, count: int) -> None:
    """Submit `count` new trials, the data files uploaded on the stand-in's clock."""
    with open_study(path) as study:
        backend = backend_of(study)
        with study.store.lock():
            study.store.load(write=True)
        files = upload_data_files(study, backend, sleep=service.advance)
        assert len(submit(study, backend, count=count, files=files).created) == count


def one_done_one_hopeless(service: StandIn, path: Path) -> None:
    """Trial 0 finished and synced (its whole curve stored); trial 1, whose learning rate is 20
    times too small, is 48 steps into its 80 (two epoch ends reported)."""
    submitted(service, path, 1)
    service.advance(3 * PHASE + 0.1)
    synced = invoke("sync", path)
    assert synced.exit_code == 0, synced.output
    submitted(service, path, 1)
    service.advance(2.6 * PHASE)


def trials(path: Path) -> list[TrialRecord]:
    with open_study(path) as study:
        return study.trials()


def service_job(service: StandIn, key: str) -> ServiceJob:
    (job,) = [j for j in service.jobs if (j.spec.metadata or {}).get("ftsweep_trial") == key]
    return job


def expected_saving(path: Path, reached: int, total: int = 80) -> tuple[int, float]:
    """What stopping a job of 4 epochs after `reached` of its `total` steps saves."""
    costing = costing_for(load_sweep(path))
    estimate = costing.estimate({"n_epochs": 4, "learning_rate_multiplier": 0.05})
    assert estimate is not None and estimate.cost is not None
    left = 1 - reached / total
    return round(estimate.trained_tokens * left), round(estimate.cost * left, 6)


def csv_row(path: Path, number: int) -> dict[str, str]:
    """Trial `number`'s row of `ftsweep trials -f csv`, by column."""
    header, *rows = invoke("trials", path, "-f", "csv").stdout.splitlines()
    return dict(zip(header.split(","), rows[number].split(","), strict=True))


def journal_size(path: Path) -> int:
    return (path.parent / ".ftsweep" / "journal.log").stat().st_size


# -- sync ----------------------------------------------------------------------------------


def test_sync_stores_curves_and_without_prune_stops_nothing(manual: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path)
    one_done_one_hopeless(manual, path)
    done, running = trials(path)
    assert done.state == State.COMPLETE and sorted(done.intermediate_values) == [20, 40, 60, 80]
    assert done.intermediate_values[80] == done.values[0]  # type: ignore[index]
    before = manual.counts()
    synced = invoke("sync", path)
    assert synced.exit_code == 0, synced.output
    assert "note: judged hopeless, left running: pr-0001 (`ftsweep sync --prune` stops them)" in (
        synced.stderr
    )
    assert "pruned" not in synced.stderr.replace("--prune", "")
    assert "0 trial(s) finished, 1 updated; 1 curve(s) stored" in synced.stderr
    _, running = trials(path)
    assert running.state == State.RUNNING and running.pruned is None
    job = service_job(manual, "pr-0001")
    assert running.intermediate_values == {
        20: job.rows[19]["full_valid_loss"],
        40: job.rows[39]["full_valid_loss"],
    }
    assert job.cancelled_at is None and manual.counts()["jobs.cancel"] == 0
    # What the curve cost: the listing, and one page of the running job's events (60 events).
    assert manual.counts() - before == {"jobs.list": 1, "jobs.events": 1}
    size = journal_size(path)
    again = invoke("sync", path)  # the same curve again: nothing written
    assert again.exit_code == 0 and "curve" not in again.stderr
    assert journal_size(path) == size


def test_sync_prune_cancels_the_hopeless_job_and_records_it_pruned(manual: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, max_trials=2)
    one_done_one_hopeless(manual, path)
    pruned = invoke("sync", path, "--prune")
    assert pruned.exit_code == 0, pruned.output
    tokens, cost = expected_saving(path, reached=48)
    job = service_job(manual, "pr-0001")
    value = job.rows[39]["full_valid_loss"]
    assert (
        f"pr-0001: pruned at step 40 (40 examples trained), value {value:.6g}; "
        f"saves ~{tokens:,} trained tokens (${cost:g})"
    ) in pruned.stderr
    assert f"pr: 1 trial(s) pruned, saving ~{tokens:,} trained tokens (${cost:g})" in (
        pruned.stderr
    )
    assert "1 trial(s) finished" not in pruned.stderr  # pruned is no finished-as-failed
    _, trial = trials(path)
    assert trial.state == State.PRUNED and trial.values is None
    assert trial.pruned == Pruned(40, 40, value, tokens, cost)  # type: ignore[arg-type]
    assert trial.job.status == "cancelled" and job.status(manual.clock.now()) == "cancelled"
    assert manual.counts()["jobs.cancel"] == 1
    # Later: the job stays cancelled, the trial pruned; nothing is cancelled or written again.
    manual.advance(10)
    size = journal_size(path)
    for again in (["sync", path, "--prune"], ["sync", path], ["submit", path]):
        assert invoke(*again).exit_code == 0
    assert journal_size(path) == size and manual.counts()["jobs.cancel"] == 1
    assert trials(path)[1].state == State.PRUNED
    assert jobs_per_trial(manual) == {"pr-0000": 1, "pr-0001": 1}  # never submitted again
    # It counts towards max_trials (2), and it is no failure.
    asked = invoke("ask", path, "-n", "1")
    assert asked.exit_code == 3 and "max_trials (2) reached" in asked.stderr
    fields = csv_row(path, 1)
    assert fields["state"] == "pruned" and fields["job_status"] == "cancelled"
    assert (fields["pruned_step"], fields["saved_tokens"]) == ("40", str(tokens))
    assert float(fields["pruned_value"]) == value and float(fields["saved_cost"]) == cost


def test_on_a_terminal_each_pruned_trial_is_a_line_above_the_live_table(
    manual: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path)
    one_done_one_hopeless(manual, path)
    env = environment(manual, TERM="xterm", COLUMNS="160", LINES="40")
    code, text = on_terminal([*FTSWEEP, "sync", str(path), "--prune"], env, timeout=60)
    assert code == 0, text
    line = text.index("pr-0001: pruned at step 40 (40 examples trained)")
    assert line < text.rindex("cancelled")  # the table under it shows the job cancelled
    assert "pr: 1 trial(s) pruned, saving ~" in text
    assert trials(path)[1].state == State.PRUNED


def test_sync_prune_without_a_prune_section_is_refused(manual: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, prune="")
    submitted(manual, path, 1)
    refused = invoke("sync", path, "--prune")
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: {path}: pruning needs a `prune:` section in the sweep file (prune: "
        "{rule: median}, say); without one, sync stops no job\n"
    )
    assert manual.counts()["jobs.list"] == 0  # refused before any request


def test_a_sweep_without_prune_reads_no_curves(manual: StandIn, tmp_path: Path):
    path = write_sweep(tmp_path, prune="")
    submitted(manual, path, 2)
    manual.advance(2.5 * PHASE)  # both running
    before = manual.counts()
    assert invoke("sync", path).exit_code == 0
    assert manual.counts() - before == {"jobs.list": 1}
    assert all(not t.intermediate_values for t in trials(path))


class LateCancel:
    """The service's backend, its clock moved past every job's end just before a cancel goes
    out: the job succeeds between the judgement and the cancel, and the stand-in refuses the
    cancel as the service does."""

    def __init__(self, backend: Any, service: StandIn) -> None:
        self._backend, self._service = backend, service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def cancel(self, job_id: str) -> Any:
        self._service.advance(10 * PHASE)
        return self._backend.cancel(job_id)


def test_a_job_that_finished_before_its_cancel_is_recorded_as_it_finished(
    manual: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path)
    one_done_one_hopeless(manual, path)
    with open_study(path) as study:
        report = sync(study, LateCancel(backend_of(study), manual), prune=True)  # type: ignore[arg-type]
    assert report.pruned == []
    assert any(
        "succeeded before its cancel took: recorded as it finished" in n for n in report.notes
    )
    assert manual.counts()["jobs.cancel"] == 1  # refused: it had finished
    _, trial = trials(path)
    job = service_job(manual, "pr-0001")
    assert trial.state == State.COMPLETE and trial.values == (job.rows[-1]["full_valid_loss"],)
    assert sorted(trial.intermediate_values) == [20, 40, 60, 80]  # its whole curve
    assert csv_row(path, 1)["state"] == "complete" and csv_row(path, 1)["pruned_step"] == ""


# -- a kill -9 in the middle of a prune -----------------------------------------------------


def wait_for(what: Callable[[], bool], timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def decided(path: Path) -> bool:
    """Whether the hopeless trial holds a decision to prune it (its job not yet seen cancelled)."""
    found = trials(path)
    return len(found) == 2 and found[1].pruned is not None and found[1].state == State.RUNNING


def killed_while_pruning(service: StandIn, path: Path, until: Callable[[], bool]) -> None:
    """`sync --prune` in its own process, killed (SIGKILL) once the decision is stored and
    `until` holds."""
    command = [*FTSWEEP, "sync", str(path), "--prune"]
    process = subprocess.Popen(
        command, env=environment(service), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: decided(path) and until())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_a_kill_while_the_cancel_is_on_its_way_is_finished_by_the_next_sync(
    manual: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path)
    one_done_one_hopeless(manual, path)
    # The cancel is done and counted at once, its answer sent 1.5 s late: the kill lands while
    # the answer is on its way (a slow_create would count it only as it answers: no window).
    manual.inject(Fault.delay("jobs.cancel", 1.5))
    killed_while_pruning(manual, path, lambda: manual.counts()["jobs.cancel"] == 1)
    job = service_job(manual, "pr-0001")
    wait_for(lambda: job.cancelled_at is not None)  # the service went on with it
    left = trials(path)[1]
    decision = left.pruned
    assert left.state == State.RUNNING and decision is not None  # decided, not yet recorded
    # A plain sync sees the job cancelled and the decision: the trial is pruned, not failed.
    after = invoke("sync", path)
    assert after.exit_code == 0, after.output
    assert "pr-0001: pruned at step 40" in after.stderr and "0 trial(s) finished" in after.stderr
    trial = trials(path)[1]
    assert trial.state == State.PRUNED and trial.pruned == decision
    size = journal_size(path)
    assert invoke("sync", path, "--prune").exit_code == 0
    assert journal_size(path) == size and manual.counts()["jobs.cancel"] == 1


def test_a_kill_before_the_cancel_reached_the_service_is_finished_by_the_next_prune(
    manual: StandIn, tmp_path: Path
):
    path = write_sweep(tmp_path)
    one_done_one_hopeless(manual, path)
    manual.inject(Fault.status("jobs.cancel", 503, times=2))  # the service is busy: retried
    killed_while_pruning(manual, path, lambda: manual.counts()["jobs.cancel"] >= 1)
    job = service_job(manual, "pr-0001")
    assert job.cancelled_at is None  # nothing was cancelled
    left = trials(path)[1]
    decision = left.pruned
    assert left.state == State.RUNNING and decision is not None
    # A plain sync prunes nothing: the job runs on, the decision kept.
    assert invoke("sync", path).exit_code == 0
    assert job.cancelled_at is None and trials(path)[1].pruned == decision
    # The next `sync --prune` carries the decision out (the one stored, not a new one).
    pruned = invoke("sync", path, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "pr-0001: pruned at step 40" in pruned.stderr
    trial = trials(path)[1]
    assert trial.state == State.PRUNED and trial.pruned == decision
    cancels = [r for r in manual.requests if r.kind == "jobs.cancel" and r.status == 200]
    assert len(cancels) == 1 and job.cancelled_at is not None


# -- run -----------------------------------------------------------------------------------


def test_run_with_prune_cancels_the_hopeless_jobs_and_completes_the_sweep(tmp_path: Path):
    """On a real clock: trials 0 to 2 run first and finish; of the three after them, the two
    with a learning rate 20 times too small are stopped early."""
    rates = "1.0, 0.9, 1.2, 0.05, 0.06, 1.1"
    path = write_sweep(tmp_path, rates, prune="prune: {rule: median, startup_trials: 2}\n")
    with StandIn(phase_seconds=PHASE) as service:
        command = [*FTSWEEP, "run", str(path), "--parallel", "3", "--interval", "0.1"]
        done = subprocess.run(
            command, env=environment(service), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "done (every one of the space's 6 configurations was tried); 6 job(s)" in (
            done.stderr
        )
        found = {t.key: t for t in trials(path)}
        assert all(t.state.finished for t in found.values()) and len(found) == 6
        assert {found[k].state for k in ("pr-0000", "pr-0001", "pr-0002")} == {State.COMPLETE}
        for key in ("pr-0003", "pr-0004"):  # learning rates 0.05 and 0.06
            trial = found[key]
            assert trial.state == State.PRUNED and trial.pruned is not None
            assert trial.pruned.step < 80 and (trial.pruned.saved_tokens or 0) > 0
            assert service_job(service, key).cancelled_at is not None
            assert f"{key}: pruned at step {trial.pruned.step}" in done.stderr
        pruned = [t for t in found.values() if t.state == State.PRUNED]
        saved = sum(t.pruned.saved_tokens or 0 for t in pruned if t.pruned)
        assert f"pr: {len(pruned)} trial(s) pruned, saving ~{saved:,} trained tokens" in (
            done.stderr
        )
        assert not [t for t in found.values() if t.state == State.FAIL]
        assert jobs_per_trial(service) == dict.fromkeys(found, 1)
        again = subprocess.run(
            command, env=environment(service), capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 0 and "0 job(s) submitted" in again.stderr
        assert len(service.jobs) == 6


def test_tpe_learns_from_pruned_trials_as_optunas_own(manual: StandIn, tmp_path: Path):
    """A sampler sees a pruned trial as Optuna's pruned trial, with its curve (TPE ranks pruned
    trials by how far they got, then by their last value), and asks on from it."""
    path = write_sweep(tmp_path)
    one_done_one_hopeless(manual, path)
    assert invoke("sync", path, "--prune").exit_code == 0
    with open_study(path) as study:
        frozen = study.store.optuna_trials(study.trials())
    assert [t.state.name for t in frozen] == ["COMPLETE", "PRUNED"]
    assert frozen[1].intermediate_values == trials(path)[1].intermediate_values
    path.write_text(path.read_text().replace("strategy: grid", "strategy: tpe"))  # same study
    asked = invoke("ask", path, "-n", "1")
    assert asked.exit_code == 0, asked.output
    assert '"learning_rate_multiplier":1.1' in asked.stdout  # the one configuration left

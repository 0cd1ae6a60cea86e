"""ftsweep's journal file (`ftsweep.study.store.journal`): Optuna's format, framed all-or-nothing
appends, a lock a dead process releases, and damage reported by line, never as a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from ftsweep.errors import DamagedStudyError
from ftsweep.study import SweepStudy, tell
from ftsweep.study.store.journal import JournalFile, encode, open_journal
from tests.study.test_study import make_study, result, sweep_text

SRC = str(Path(__file__).resolve().parents[2] / "src")


def told(tmp_path: Path, asked: int = 3, telling: int = 2) -> SweepStudy:
    study = make_study(
        tmp_path, sweep_text(extra="objective: {metric: loss, direction: minimize}\n")
    )
    study.ask(asked)
    tell(study, [result(trial=n, values={"loss": 0.1 * n}) for n in range(telling)])
    study.close()
    return study


def states(study: SweepStudy) -> list[str]:
    fresh = SweepStudy(study.sweep)
    return [t.state.name for t in fresh.trials()]


def test_the_op_codes_are_optunas() -> None:
    from optuna.storages.journal._storage import JournalOperation

    from ftsweep.study.store import journal

    assert {op.name: int(op) for op in JournalOperation} == {
        op.name: getattr(journal, op.name) for op in JournalOperation
    }


def test_the_trial_states_are_optunas() -> None:
    from ftsweep.study.store.journal_format import TRIAL_STATES

    assert TRIAL_STATES == tuple(state.name.lower() for state in sorted(TrialState))


def test_what_tell_writes_replays_in_optuna_itself(tmp_path: Path) -> None:
    study = told(tmp_path, asked=3, telling=2)
    storage = JournalStorage(JournalFileBackend(str(study.location.path)))
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING]
    assert [t.values for t in trials] == [[0.0], [0.1], None]
    assert trials[0].user_attrs["job.status"] == "succeeded"
    for trial in trials[:2]:
        assert isinstance(trial.datetime_complete, datetime)
        assert trial.datetime_complete.tzinfo is None  # naive, as Optuna's own writes read
        assert trial.duration is not None and trial.duration.total_seconds() >= 0


def test_an_append_of_many_records_is_framed(tmp_path: Path) -> None:
    logs = [
        {"op_code": 8, "worker_id": "w", "trial_id": n, "user_attr": {"job.status": str(n)}}
        for n in (0, 1)
    ]
    lines = encode(logs).splitlines(keepends=True)
    assert json.loads(lines[0]) == {
        "op_code": 3,
        "worker_id": "ftsweep:append",
        "study_id": -1,
        "system_attr": {"ftsweep:append": {"records": 2, "bytes": len(lines[1] + lines[2])}},
    }
    assert encode(logs[:1]) == lines[1]  # one record needs no frame


@pytest.mark.parametrize("cut", range(1, 41))
def test_a_cut_journal_reads_and_the_next_tell_lands(tmp_path: Path, cut: int) -> None:
    study = told(tmp_path, asked=3, telling=2)
    path = study.location.path
    assert path is not None
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size - cut)
    # The last tell (one framed append) is gone whole: nothing half told.
    assert states(study) in (["RUNNING"] * 3, ["COMPLETE"] * 2 + ["RUNNING"])
    fresh = SweepStudy(study.sweep)
    report = tell(fresh, [result(trial=n, values={"loss": 0.5}) for n in range(3)])
    fresh.close()
    assert report.finished + report.unchanged == 3
    assert states(study) == ["COMPLETE"] * 3


def test_an_incomplete_framed_append_is_ignored_then_cut_away(tmp_path: Path) -> None:
    study = told(tmp_path, asked=3, telling=0)
    path = study.location.path
    assert path is not None
    size = path.stat().st_size
    logs = [
        {"op_code": 8, "worker_id": "w", "trial_id": n, "user_attr": {"job.status": str(n)}}
        for n in (0, 1)
    ]
    payload = encode(logs)
    with open(path, "ab") as file:
        file.write(payload[:-10])  # killed in the middle of its write
    def told_a() -> list[object]:
        return [t.job.status for t in SweepStudy(study.sweep).trials()]

    assert told_a() == [None, None, None]
    JournalFile(path).append_logs(logs)
    assert path.read_bytes()[size:] == payload
    assert told_a() == ["0", "1", None]


def damage(path: Path, line: int, text: bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(line - 1, text)
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"garbage\n", r"not JSON \(Expecting value at column 1\)"),
        (b'{"op_code": 99, "worker_id": "w"}\n', "unknown op_code 99"),
        (b"[1, 2]\n", "not a JSON object but list"),
        (
            b'{"op_code": 8, "worker_id": "w", "user_attr": {"a": 1}}\n',
            "op_code 8 needs a 'trial_id'",
        ),
        (
            b'{"op_code": 6, "worker_id": "w", "trial_id": 0, "state": 1, "values": null}\n',
            "'datetime_complete' is missing",
        ),
        (
            b'{"op_code": 8, "worker_id": "w", "trial_id": 0, "user_attr": {}}\n',
            "'user_attr' must hold exactly one attribute",
        ),
    ],
)
def test_a_damaged_line_is_reported_with_its_number(
    tmp_path: Path, text: bytes, reason: str
) -> None:
    study = told(tmp_path)
    path = study.location.path
    assert path is not None
    damage(path, 3, text)
    expected = f"^storage {path} is damaged at line 3: {reason}.*; `ftsweep doctor SWEEP` lists"
    with pytest.raises(DamagedStudyError, match=expected):
        SweepStudy(study.sweep).trials()
    before = path.read_bytes()
    with pytest.raises(DamagedStudyError, match=expected):
        SweepStudy(study.sweep).ask(1)  # nothing is written after damage
    assert path.read_bytes() == before


def test_a_damaged_last_line_is_never_written_after(tmp_path: Path) -> None:
    study = told(tmp_path)
    path = study.location.path
    assert path is not None
    with open(path, "ab") as file:
        file.write(b"garbage\n")
    lines = len(path.read_bytes().splitlines())
    with pytest.raises(DamagedStudyError, match=f"damaged at line {lines}: not JSON"):
        JournalFile(path).append_logs([{"op_code": 10, "worker_id": "w"}])
    assert len(path.read_bytes().splitlines()) == lines


def test_a_journal_that_is_a_directory_is_reported(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    assert study.location.path is not None
    study.location.path.mkdir(parents=True)
    message = f"^storage {study.location.path} is a directory, not a journal file: move it away$"
    with pytest.raises(DamagedStudyError, match=message):
        study.trials()
    with pytest.raises(DamagedStudyError, match=message):
        study.ask(1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_journal_is_reported(tmp_path: Path) -> None:
    study = told(tmp_path)
    assert study.location.path is not None
    study.location.path.chmod(0)
    with pytest.raises(DamagedStudyError, match="Permission denied"):
        SweepStudy(study.sweep).trials()


def test_a_record_optuna_cannot_replay_is_reported_with_its_line(tmp_path: Path) -> None:
    study = told(tmp_path)
    path = study.location.path
    assert path is not None
    bad = {
        "op_code": 4,
        "worker_id": "w",
        "study_id": 0,
        "datetime_start": None,
        "params": {"x": 1},
    }  # a parameter without its distribution
    damage(path, 4, json.dumps(bad).encode() + b"\n")
    with pytest.raises(DamagedStudyError, match="damaged at line 4: Optuna cannot replay it"):
        open_journal(path, read_only=True)


HOLD = """
import sys, time
from pathlib import Path
from ftsweep.study.store.journal import locked
with locked(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_lock_held_by_a_killed_process_is_taken_at_once_and_quietly(tmp_path: Path) -> None:
    study = told(tmp_path)
    journal = JournalFile(study.location.path)  # type: ignore[arg-type]
    env = {**os.environ, "PYTHONPATH": SRC}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(journal.lock_path)], stdout=subprocess.PIPE, env=env
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    (tmp_path / "r.csv").write_text("trial,loss\n2,0.5\n")
    done = subprocess.run(
        [sys.executable, "-m", "ftsweep", "tell", str(study.sweep.file), str(tmp_path / "r.csv")],
        capture_output=True,
        text=True,
        env=env,
        timeout=8,  # Optuna's lock waited 30 s
    )
    assert (done.returncode, done.stderr.splitlines()[-1:]) == (
        0,
        ["s: 1 finished, 0 updated, 0 unchanged, 0 replaced, 0 row(s) naming no trial"],
    )
    assert "warning" not in done.stderr.lower()


def test_a_lock_file_left_by_optunas_own_lock_is_not_waited_on(tmp_path: Path) -> None:
    study = told(tmp_path)
    path: Any = study.location.path
    Path(f"{path}.lock").touch()  # what a killed process holding JournalFileOpenLock leaves
    env = {**os.environ, "PYTHONPATH": SRC}
    (tmp_path / "r.csv").write_text("trial,loss\n2,0.5\n")
    done = subprocess.run(
        [sys.executable, "-m", "ftsweep", "tell", str(study.sweep.file), str(tmp_path / "r.csv")],
        capture_output=True,
        text=True,
        env=env,
        timeout=8,
    )
    assert done.returncode == 0 and "lock" not in done.stderr.lower()

"""`ftsweep doctor`: a journal's damage listed by line, and repaired with the original kept."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ftsweep.cli import app

runner = CliRunner()

SWEEP = """\
name: s
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: file-train
validation_file: file-valid
strategy: random
seed: 7
objective: {metric: full_valid_loss, direction: minimize}
space:
  learning_rate_multiplier: {low: 0.05, high: 5.0, log: true}
"""


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def told(tmp_path: Path) -> tuple[Path, Path]:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP)
    assert run("ask", sweep, "-n", "3", "-o", tmp_path / "batch.jsonl")[0] == 0
    results = tmp_path / "r.csv"
    results.write_text("trial,full_valid_loss\n0,0.5\n1,0.4\n")
    assert run("tell", sweep, results)[0] == 0
    return sweep, tmp_path / ".ftsweep" / "journal.log"


FRAME = b'"worker_id":"ftsweep:append"'


def records(journal: Path) -> tuple[int, int, int]:
    """The line of the tell's framed append (the last one, 0-based), how many records come
    before it and how many there are in all (a frame's line is no record)."""
    lines = journal.read_bytes().splitlines()
    frames = [i for i, line in enumerate(lines) if FRAME in line]
    return frames[-1], frames[-1] - (len(frames) - 1), len(lines) - len(frames)


def test_an_intact_journal(tmp_path: Path) -> None:
    sweep, journal = told(tmp_path)
    total = records(journal)[2]
    assert run("doctor", sweep) == (
        0,
        f"{journal}: intact: {total} records, 1 study, 3 trials\n",
        "",
    )


def test_damage_is_listed_by_line_then_repaired(tmp_path: Path) -> None:
    sweep, journal = told(tmp_path)
    frame, before, _ = records(journal)
    lines = journal.read_bytes().splitlines(keepends=True)
    damaged = b"".join([*lines[:2], b"garbage\n", *lines[2:]])[:-5]  # and a cut last append
    journal.write_bytes(damaged)
    code, _, err = run("trials", sweep)
    assert code == 1
    assert err.startswith(f"error: storage {journal} is damaged at line 3: ")
    assert f"`ftsweep doctor {sweep}` lists the damage" in err  # the sweep named, no SWEEP
    report = (
        f"  line 3: not JSON (Expecting value at column 1)\n"
        f"  line {frame + 2}: an incomplete append at the end "
        f"({len(b''.join(lines[frame:])) - 5:,} bytes)\n"
    )
    assert run("doctor", sweep) == (
        1,
        f"{journal}: damaged: 2 line(s) to drop\n{report}"
        f"intact: {before} records, 1 study, 3 trials\n"
        f"repair: ftsweep doctor {sweep} --repair (the damaged file is kept beside it)\n",
        "",
    )
    code, out, err = run("doctor", sweep, "--repair")
    (kept,) = journal.parent.glob("journal.log.damaged-*")
    assert (code, out, err) == (
        0,
        f"{journal}: repaired: dropped 2 line(s)\n{report}"
        f"kept: {before} records, 1 study, 3 trials; the damaged file is {kept}\n",
        "",
    )
    assert kept.read_bytes() == damaged
    assert journal.read_bytes() == b"".join(x for x in lines[:frame] if FRAME not in x)
    assert run("doctor", sweep)[0] == 0
    results = tmp_path / "r.csv"
    assert run("tell", sweep, results)[2].endswith(
        "s: 2 finished, 0 updated, 0 unchanged, 0 replaced, 0 row(s) naming no trial\n"
    )
    code, out, _ = run("trials", sweep, "-f", "csv")
    assert code == 0 and out.count(",complete,") == 2


def test_repairing_an_intact_journal_writes_nothing(tmp_path: Path) -> None:
    sweep, journal = told(tmp_path)
    before = journal.read_bytes()
    assert run("doctor", sweep, "--repair") == (
        0,
        f"{journal}: intact: {records(journal)[2]} records, 1 study, 3 trials; nothing to repair\n",
        "",
    )
    assert journal.read_bytes() == before
    assert list(journal.parent.glob("*.damaged-*")) == []


def test_a_database_is_not_checked(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP)
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert run("doctor", sweep, "--storage", url) == (
        0,
        "sqlite storage: doctor checks journal files only\n",
        "",
    )


def test_a_missing_journal_is_no_study(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP)
    journal = tmp_path / ".ftsweep" / "journal.log"
    assert run("doctor", sweep) == (
        2,
        "",
        f"error: storage {journal}: no journal file: nothing to check\n",
    )


def test_a_journal_that_is_a_directory(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP)
    journal = tmp_path / ".ftsweep" / "journal.log"
    journal.mkdir(parents=True)
    assert run("doctor", sweep) == (
        1,
        "",
        f"error: storage {journal} is a directory, not a journal file: move it away\n",
    )


def test_a_choice_beyond_its_distribution_is_damage_a_repair_drops(tmp_path: Path) -> None:
    """A categorical parameter whose stored index is past its choices (a journal edited or
    written by another program) reads as damage, not as a traceback."""
    sweep, journal = told(tmp_path)
    choices = '{"name": "CategoricalDistribution", "attributes": {"choices": [1, 2]}}'
    record = (
        '{"op_code":4,"worker_id":"w","study_id":0,"datetime_start":null,'
        f'"distributions":{{"c":{json.dumps(choices)}}},"params":{{"c":7}}}}\n'
    )
    with journal.open("a") as file:
        file.write(record)
    line = len(journal.read_bytes().splitlines())
    code, _, err = run("trials", sweep, "-f", "csv")
    assert code == 1
    assert err.startswith(
        f"error: storage {journal} is damaged at line {line}: Optuna cannot replay it (IndexError"
    )
    assert f"`ftsweep doctor {sweep} --repair` drops it" in err
    code, out, _ = run("doctor", sweep)
    assert code == 1 and f"  line {line}: Optuna cannot replay it (IndexError" in out
    assert run("doctor", sweep, "--repair")[0] == 0
    assert run("trials", sweep, "-f", "csv")[0] == 0

"""Tables fitted to the terminal: no cell split mid-token, no row wrapped, piped output whole."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app
from ftsweep.cli.render import SHORT, Column, fit, importance_table, records_table, table_width

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

ERROR = "invalid_training_file: line 3 of the training file is not valid JSON: expected ':'"
COLUMNS = [
    "key", "state", "learning_rate_multiplier", "n_epochs", "batch_size", "full_valid_loss",
    "job_id", "fine_tuned_model", "trained_tokens", "job_status", "error",
]  # fmt: skip


def records() -> list[dict[str, Any]]:
    return [
        {
            "key": f"support-sft-grid-long-name-{i:04d}",
            "state": ["complete", "fail", "running"][i],
            "learning_rate_multiplier": 0.123456789 * (i + 1),
            "n_epochs": 3,
            "batch_size": "auto" if i else 16,
            "full_valid_loss": 0.2345678 if i == 0 else None,
            "job_id": f"ftjob-AbCdEfGhIjKlMnOpQrStUv{i}",
            "fine_tuned_model": "ft:gpt-4.1-mini-2025-04-14:acme::B1x2y3z4" if i == 0 else None,
            "trained_tokens": 1843200 if i == 0 else None,
            "job_status": ["succeeded", "failed", "running"][i],
            "error": ERROR if i == 1 else None,
        }
        for i in range(3)
    ]


def whole_values() -> set[str]:
    values = {"", "0", "1", "2"}  # the keys' trial numbers
    for record in records():
        for value in record.values():
            if isinstance(value, float):
                values |= {format(value, ".4g"), format(value, ".6g")}
            elif value is not None:
                values.add(str(value))
    return values


def body_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if "│" in line]


def header(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("┃"))
    return [c.strip() for c in line.split("┃")[1:-1]]


def assert_cells_whole_or_cut(text: str, width: int, rows: int, whole: set[str]) -> None:
    assert max(map(len, text.splitlines())) <= width
    found = body_rows(text)
    assert len(found) == rows  # one line per row: none wrapped
    for cell in (c for row in found for c in row):
        cut = cell.endswith("…") and any(v.startswith(cell[:-1]) for v in whole)
        assert cell in whole or cut, cell
    assert not any(h.endswith("…") for h in header(text))


def table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], width: int) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    records_table(records(), COLUMNS, "support-sft-grid-long-name", None)
    return capsys.readouterr().out


def test_records_at_80_columns(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    text = table(monkeypatch, capsys, 80)
    assert_cells_whole_or_cut(text, 80, 3, whole_values())
    assert header(text) == ["trial", "state", "lr_mult", "epochs", "batch", "fv_loss", "job_id"]
    assert [row[:3] for row in body_rows(text)] == [
        ["0", "complete", "0.1235"],
        ["1", "fail", "0.2469"],
        ["2", "running", "0.3704"],
    ]
    lines = text.splitlines()
    assert lines[-4:-2] == [
        "lr_mult = learning_rate_multiplier, epochs = n_epochs, batch = batch_size",
        "fv_loss = full_valid_loss",
    ]
    assert " ".join(lines[-2:]) == (
        "4 columns not shown: fine_tuned_model, trained_tokens, job_status, error; --wide shows all"
    )


def test_records_at_120_columns_cut_long_text_only(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = table(monkeypatch, capsys, 120)
    assert_cells_whole_or_cut(text, 120, 3, whole_values())
    first, second, _ = body_rows(text)
    assert (first[8], first[1], second[9], second[10][-1]) == ("1843200", "complete", "failed", "…")
    assert "not shown" not in text


def test_records_at_200_columns_show_every_column(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = table(monkeypatch, capsys, 200)
    assert_cells_whole_or_cut(text, 200, 3, whole_values())
    assert len(header(text)) == len(COLUMNS) and "not shown" not in text
    first, second, _ = body_rows(text)
    assert (first[6], first[7], second[10][-1]) == (
        "ftjob-AbCdEfGhIjKlMnOpQrStUv0",
        "ft:gpt-4.1-mini-2025-04-14:acme::B1x2y3z4",
        "…",
    )


def test_a_terminal_wide_enough_gets_the_full_table(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = table(monkeypatch, capsys, 300)
    assert "…" not in text and header(text) == ["trial", *COLUMNS[1:]]
    assert [row[-1] for row in body_rows(text)] == ["", ERROR, ""]


def test_piped_output_is_complete(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: rich alone would use 80
    records_table(records(), COLUMNS, "s", None)
    text = capsys.readouterr().out
    assert "…" not in text and header(text) == ["trial", *COLUMNS[1:]]
    assert body_rows(text)[0][2] == "0.123457" and body_rows(text)[1][-1] == ERROR


def test_layout_never_exceeds_the_width() -> None:
    columns = [
        Column("trial", ["7"], ["7"], numeric=True),
        Column("error", [ERROR], [ERROR], numeric=False),
        Column("trained_tokens", ["1843200"], ["1843200"], numeric=True),
    ]
    for width in range(20, 120):
        layout = fit(columns, width)
        assert layout.widths is not None or table_width([c.need(False) for c in columns]) <= width
        widths = layout.widths or [c.need(False) for c in layout.columns]
        assert table_width(widths) <= width or len(layout.columns) == 1
        numbers = [w for c, w in zip(layout.columns, widths, strict=True) if c.numeric]
        assert numbers == [c.need(layout.short) for c in layout.columns if c.numeric]  # never cut


def test_importance_drops_metrics_with_a_note(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    found = {m: {"learning_rate_multiplier": 0.75, "n_epochs": 0.25} for m in SHORT if "_" in m}
    metrics = [m for m in found if m in ("full_valid_loss", "valid_reward_mean", "train_loss")]
    importance_table({m: found[m] for m in metrics}, "s")
    text = capsys.readouterr().out
    assert max(map(len, text.splitlines())) <= 60
    assert header(text) == ["parameter", "fv_loss", "v_reward"]
    assert [row[0] for row in body_rows(text)] == ["learning_rate_multiplier", "n_epochs"]


# --- through the CLI ------------------------------------------------------------------------

RFT = ROOT / "sweeps" / "rft-multi-grader.yaml"
GRID = ROOT / "sweeps" / "supervised-grid.yaml"


def plan_output(*args: str, columns: int) -> str:
    result = runner.invoke(app, ["plan", *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_plan_at_80_columns_shortens_headers() -> None:
    text = plan_output(str(RFT), "-n", "5", columns=80)
    rows = body_rows(text)
    assert max(map(len, text.splitlines())) <= 80 and len(rows) == 5
    assert header(text) == [
        "trial", "effort", "compute", "epochs", "eval_every", "eval_n", "batch",
    ]  # fmt: skip
    assert rows[0] == ["0", "high", "1.303", "1", "5", "4", "auto"]
    assert "5 of 8 trials · sobol, seed 3" in text
    assert text.splitlines()[-2:] == [
        "effort = reasoning_effort, compute = compute_multiplier, epochs = n_epochs",
        "eval_every = eval_interval, eval_n = eval_samples, batch = batch_size",
    ]


def test_plan_wide_shows_full_names_and_digits() -> None:
    text = plan_output(str(RFT), "-n", "5", "--wide", columns=80)
    assert header(text)[1:3] == ["reasoning_effort", "compute_multiplier"]
    assert body_rows(text)[0][2] == "1.30329" and "…" not in text and " = " not in text


def test_plan_with_a_limit_counts_the_whole_grid() -> None:
    text = plan_output(str(GRID), "--limit", "5", columns=80)
    assert len(body_rows(text)) == 5
    assert "5 of 27 trials · grid, seed 11" in text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_plan_in_a_real_80_column_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of 24 rows by 80 columns
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execve(sys.executable, [sys.executable, "-m", "ftsweep", "plan", str(RFT)], env)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", b"".join(chunks).decode()).replace("\r", "")
    assert max(map(len, text.splitlines())) <= 80
    assert len(body_rows(text)) == 8 and header(text)[1] == "effort"

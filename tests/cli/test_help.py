"""`ftsweep --help` and each command's help, through typer's CliRunner, at 80 and 200 columns."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app

runner = CliRunner()

COMMANDS = [
    "init", "validate", "plan", "ask", "tell", "import", "trials", "best", "importance", "doctor",
    "submit", "sync", "cancel", "run", "check",
]
USAGE = {
    "init": "Usage: ftsweep init [OPTIONS] FILE",
    "validate": "Usage: ftsweep validate [OPTIONS] SWEEP...",
    "plan": "Usage: ftsweep plan [OPTIONS] SWEEP",
    "ask": "Usage: ftsweep ask [OPTIONS] SWEEP",
    "tell": "Usage: ftsweep tell [OPTIONS] SWEEP FILE...",
    "import": "Usage: ftsweep import [OPTIONS] SWEEP FILE...",
    "trials": "Usage: ftsweep trials [OPTIONS] SWEEP",
    "best": "Usage: ftsweep best [OPTIONS] SWEEP",
    "importance": "Usage: ftsweep importance [OPTIONS] SWEEP",
    "doctor": "Usage: ftsweep doctor [OPTIONS] SWEEP",
    "submit": "Usage: ftsweep submit [OPTIONS] SWEEP [BATCH]",
    "sync": "Usage: ftsweep sync [OPTIONS] SWEEP",
    "cancel": "Usage: ftsweep cancel [OPTIONS] SWEEP [TRIAL_KEY...]",
    "run": "Usage: ftsweep run [OPTIONS] SWEEP",
    "check": "Usage: ftsweep check [OPTIONS] [SWEEP]",
}


def help_text(*args: str, columns: int) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": str(columns)})
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def test_every_command_is_checked() -> None:
    names = [
        info.name or (info.callback.__name__ if info.callback else "")
        for info in app.registered_commands
    ]
    assert sorted(names) == sorted(COMMANDS)


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_names_values_not_types(command: str, columns: int) -> None:
    text = help_text(*filter(None, [command]), columns=columns)
    assert "<bool>" not in text
    assert re.findall(r"<[\w\[\]|, ]+>|\{\w+\}", text) == []  # no <path>, <list[Path]>, {path}
    assert max(map(len, text.splitlines())) <= 80
    assert not [line for line in text.splitlines() if line.endswith("...") and "Usage" not in line]


@pytest.mark.parametrize("command", COMMANDS)
def test_usage_lines_use_metavars(command: str) -> None:
    assert help_text(command, columns=80).splitlines()[0] == USAGE[command]


def test_init_help_reads_like_a_unix_tool() -> None:
    assert help_text("init", columns=80) == (
        "Usage: ftsweep init [OPTIONS] FILE\n"
        "\n"
        "  Write a commented starter sweep file for a method.\n"
        "\n"
        "Arguments:\n"
        "  FILE  Where to write the sweep file (.yaml).\n"
        "\n"
        "Options:\n"
        "  -m, --method METHOD  Fine-tuning method: supervised, dpo or reinforcement.\n"
        "                       [default: supervised]\n"
        "  --force              Overwrite an existing file.\n"
        "  --help               Show this message and exit.\n"
    )


def test_counts_and_files_have_metavars() -> None:
    ask = help_text("ask", columns=80)
    assert "  -n, --count COUNT  How many trials.  [default: 1; 1<=x<=1000000]\n" in ask
    assert "  -o, --output FILE  Write to this file (atomically).\n" in ask
    assert "  -n, --limit COUNT    Plan at most this many trials.  [x>=0]\n" in help_text(
        "plan", columns=80
    )


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"ftsweep {version('ftsweep')}\n")
    assert version("ftsweep") == "0.1.0"

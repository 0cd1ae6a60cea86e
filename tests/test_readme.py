"""The README's first screen gives the two commands a new user needs, and CI runs the second."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:30])
    return re.findall(r"```bash\n(.+?)\n```", first_screen)


def test_first_screen_has_install_run_and_test_commands() -> None:
    install_and_run, run_tests = _commands()[:2]
    assert "pip install -e ." in install_and_run and "ftsweep " in install_and_run
    assert "pytest" in run_tests


def test_ci_runs_the_readme_test_command_exactly() -> None:
    run_tests = _commands()[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert run_tests in ci


def test_the_main_job_names_a_sweep_that_exists() -> None:
    install_and_run = _commands()[0]
    sweep = re.search(r"(sweeps/\S+)", install_and_run)
    assert sweep is not None and (ROOT / sweep[1]).is_file()


def _loop_commands() -> list[str]:
    """The README's first command (its ftsweep part), then every line of "The loop"'s blocks."""
    readme = (ROOT / "README.md").read_text()
    loop = readme.split("## The loop", 1)[1].split("\n## ", 1)[0]
    first = _commands()[0].split("&&")[-1].strip()
    lines = [first]
    for block in re.findall(r"```bash\n(.+?)\n```", loop, re.S):
        lines += [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    return lines


def test_the_loop_runs_as_written_and_leaves_the_test_suite_green(tmp_path: Path) -> None:
    """A new user runs the README's commands in order, then the tests: each command must work
    from the install's venv as written, and what it leaves behind (a study beside the sweep,
    batch files) must not break `test_every_sweep_in_the_repository_validates`."""
    import shutil
    import subprocess
    import sys

    for folder in ("sweeps", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for line in _loop_commands():
        program, *args = shlex.split(line)
        assert program == ".venv/bin/ftsweep", f"not runnable after the install line: {line}"
        done = subprocess.run(
            [sys.executable, "-m", "ftsweep", *args], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        assert "Traceback" not in done.stderr
    assert (tmp_path / "sweeps" / ".ftsweep").is_dir()
    from tests.cli.test_app import sweep_files

    validated = subprocess.run(
        [sys.executable, "-m", "ftsweep", "validate", *map(str, sweep_files(tmp_path / "sweeps"))],
        capture_output=True,
        text=True,
    )
    assert (validated.returncode, validated.stderr) == (0, "")


def test_the_data_and_cost_commands_run_as_written(tmp_path: Path) -> None:
    """Each line of the "Data and cost" section's first block, offline, from a copy of the
    repository's sweeps and examples: the bad file is exit 2 with its problems, the rest 0."""
    import shutil
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Data and cost", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.+?)\n```", section, re.S)[0]
    for folder in ("sweeps", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for line in (line.split("  #")[0].strip() for line in block.splitlines() if line.strip()):
        program, *args = shlex.split(line)
        assert program == ".venv/bin/ftsweep", line
        done = subprocess.run(
            [sys.executable, "-m", "ftsweep", *args], cwd=tmp_path, capture_output=True, text=True
        )
        assert "Traceback" not in done.stderr, line
        bad = "bad-" in line
        assert done.returncode == (2 if bad else 0), f"{line}\n{done.stdout}\n{done.stderr}"
        if "support-sft-budget.yaml -n 8" in line:
            assert "4 trial(s) of 8 asked for (budget max_cost (0.15) reached" in done.stderr

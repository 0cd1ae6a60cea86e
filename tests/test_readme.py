"""The README's first screen gives the two commands a new user needs, and CI runs the second."""

from __future__ import annotations

import re
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

"""The package's public surface is what we mean to export, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ftsweep

EXPORTED = {
    "FtsweepError",
    "JobRequest",
    "NoStudyError",
    "OutputError",
    "Plan",
    "PlanError",
    "Problem",
    "ResultsError",
    "StudyError",
    "Sweep",
    "SweepFileError",
    "SweepStudy",
    "Trial",
    "import_jobs",
    "load_sweep",
    "loads_sweep",
    "plan",
    "read_results",
    "tell",
    "trials_frame",
}


def test_exported_names_are_what_we_mean_to_export() -> None:
    assert set(ftsweep.__all__) == EXPORTED
    for name in EXPORTED:
        assert getattr(ftsweep, name) is not None
    assert EXPORTED <= set(dir(ftsweep))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        ftsweep.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no attribute 'no_such_thing'" in str(exc)
    else:
        raise AssertionError("expected an AttributeError")


def test_importing_the_package_and_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys, ftsweep, ftsweep.cli\n"
        "heavy = [m for m in ('optuna', 'pandas', 'openai', 'pydantic', 'numpy', 'scipy') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_validate_and_plan_of_a_local_sweep_import_no_training_library() -> None:
    """The local backend's libraries (torch, transformers, TRL) load only in its trainers."""
    code = (
        "import sys\n"
        "from ftsweep.cli import main\n"
        "for command in ('validate', 'plan'):\n"
        "    sys.argv = ['ftsweep', command, 'sweeps/local-sft.yaml']\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as done:\n"
        "        assert not done.code, done.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') "
        "if m in sys.modules]\n"
        "print(','.join(heavy), file=sys.stderr)\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stderr.strip().splitlines()[-1:] in ([], [""])

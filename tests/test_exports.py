"""The package's public surface is what we mean to export, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

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

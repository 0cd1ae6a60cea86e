"""ftsweep: hyperparameter sweeps for OpenAI-compatible fine-tuning services.

The public names are imported lazily, so that `import ftsweep` (and the CLI's start-up) stays
fast: a name's module loads the first time the name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftsweep.api import JobRequest
    from ftsweep.errors import (
        FtsweepError,
        JobRequestError,
        OutputError,
        PlanError,
        Problem,
        ResultsError,
        StudyError,
        SweepFileError,
    )
    from ftsweep.sweep import Plan, Sweep, Trial, load_sweep, loads_sweep, plan

__version__ = "0.1.0"

_EXPORTS = {
    "JobRequest": "ftsweep.api",
    "FtsweepError": "ftsweep.errors",
    "JobRequestError": "ftsweep.errors",
    "OutputError": "ftsweep.errors",
    "PlanError": "ftsweep.errors",
    "Problem": "ftsweep.errors",
    "ResultsError": "ftsweep.errors",
    "StudyError": "ftsweep.errors",
    "SweepFileError": "ftsweep.errors",
    "Plan": "ftsweep.sweep",
    "Sweep": "ftsweep.sweep",
    "Trial": "ftsweep.sweep",
    "load_sweep": "ftsweep.sweep",
    "loads_sweep": "ftsweep.sweep",
    "plan": "ftsweep.sweep",
}

__all__ = [
    "FtsweepError",
    "JobRequest",
    "JobRequestError",
    "OutputError",
    "Plan",
    "PlanError",
    "Problem",
    "ResultsError",
    "StudyError",
    "Sweep",
    "SweepFileError",
    "Trial",
    "load_sweep",
    "loads_sweep",
    "plan",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ftsweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

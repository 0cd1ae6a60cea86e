"""ftsweep: hyperparameter sweeps for OpenAI-compatible fine-tuning services.

The public names are imported lazily, so that `import ftsweep` (and the CLI's start-up) stays
fast: a name's module loads the first time the name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftsweep._lazy import lazy_exports

if TYPE_CHECKING:
    from ftsweep.api import JobRequest
    from ftsweep.errors import (
        FtsweepError,
        NoStudyError,
        OutputError,
        PlanError,
        Problem,
        ResultsError,
        StudyError,
        SweepFileError,
    )
    from ftsweep.study import (
        SweepStudy,
        import_jobs,
        read_results,
        tell,
        trials_frame,
    )
    from ftsweep.sweep import Plan, Sweep, Trial, load_sweep, loads_sweep, plan

__version__ = "0.1.0"

_EXPORTS = {
    "JobRequest": "ftsweep.api",
    "FtsweepError": "ftsweep.errors",
    "NoStudyError": "ftsweep.errors",
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
    "SweepStudy": "ftsweep.study",
    "import_jobs": "ftsweep.study",
    "read_results": "ftsweep.study",
    "tell": "ftsweep.study",
    "trials_frame": "ftsweep.study",
}

__all__ = [
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
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

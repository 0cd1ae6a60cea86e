"""ftsweep.testing exports what we mean to export."""

from __future__ import annotations

import ftsweep.testing

EXPORTED = {
    "AZURE_API_VERSIONS",
    "DEFAULT_MODELS",
    "Clock",
    "Dialect",
    "Fault",
    "JobError",
    "JobSpec",
    "ManualClock",
    "RequestRecord",
    "StandIn",
    "SystemClock",
    "TrialInput",
    "default_outcome",
    "smooth_loss",
    "smooth_reward",
}


def test_exported_names_are_what_we_mean_to_export() -> None:
    assert set(ftsweep.testing.__all__) == EXPORTED
    for name in EXPORTED:
        assert getattr(ftsweep.testing, name) is not None

"""The sweep file: loading and checking it, its space, and the trials it plans.

`Plan`, `Trial` and `plan` load on first use, so that checking a sweep file (`ftsweep validate`)
does not import the planning modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftsweep._lazy import lazy_exports
from ftsweep.sweep.load import Sweep, load_sweep, loads_sweep

if TYPE_CHECKING:
    from ftsweep.sweep.planning import Plan, Trial, plan

__all__ = ["Plan", "Sweep", "Trial", "load_sweep", "loads_sweep", "plan"]

_PLANNING = "ftsweep.sweep.planning"
__getattr__, __dir__ = lazy_exports(
    __name__, {"Plan": _PLANNING, "Trial": _PLANNING, "plan": _PLANNING}
)

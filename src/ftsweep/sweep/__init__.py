"""The sweep file: loading and checking it, its space, and the trials it plans.

`Plan`, `Trial` and `plan` load on first use, so that checking a sweep file (`ftsweep validate`)
does not import the planning modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftsweep.sweep.load import Sweep, load_sweep, loads_sweep

if TYPE_CHECKING:
    from ftsweep.sweep.plan import Plan, Trial, plan

__all__ = ["Plan", "Sweep", "Trial", "load_sweep", "loads_sweep", "plan"]


def __getattr__(name: str) -> Any:
    if name in ("Plan", "Trial", "plan"):
        from ftsweep.sweep import plan as module

        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ftsweep.sweep' has no attribute {name!r}")

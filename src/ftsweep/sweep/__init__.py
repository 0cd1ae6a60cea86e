"""The sweep file: loading and checking it, its space, and the trials it plans."""

from ftsweep.sweep.load import Sweep, load_sweep, loads_sweep
from ftsweep.sweep.plan import Plan, Trial, plan

__all__ = ["Plan", "Sweep", "Trial", "load_sweep", "loads_sweep", "plan"]

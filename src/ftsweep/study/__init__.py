"""Sweeps as Optuna studies: asking for trials, telling results, importing history, DataFrames."""

from ftsweep.study.analysis import best_records, importances
from ftsweep.study.batch import AskedTrial, Batch, Shortfall
from ftsweep.study.feedback import TellReport, tell
from ftsweep.study.frame import trials_frame
from ftsweep.study.imports import ImportReport, import_jobs
from ftsweep.study.read import read_results_files
from ftsweep.study.results import Result, read_results
from ftsweep.study.store.storage import StorageLocation, resolve_storage
from ftsweep.study.sweep_study import SweepStudy

__all__ = [
    "AskedTrial",
    "Batch",
    "ImportReport",
    "Result",
    "Shortfall",
    "StorageLocation",
    "SweepStudy",
    "TellReport",
    "best_records",
    "import_jobs",
    "importances",
    "read_results",
    "read_results_files",
    "resolve_storage",
    "tell",
    "trials_frame",
]

"""Optuna samplers for the adaptive strategies."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ftsweep.errors import StudyError

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

__all__ = ["make_sampler"]


def make_sampler(strategy: str, seed: int) -> BaseSampler:
    """The sampler of an adaptive strategy, seeded (a new seed per batch keeps batches apart)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if strategy == "tpe":
            # group: conditional spaces (unions, auto ranges); constant liar: running trials
            # count as mediocre, so concurrent workers and a batch's trials spread out.
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, group=True, constant_liar=True
            )
        if strategy == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if strategy == "cmaes":
            _require("cmaes", "cmaes")
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if strategy == "gp":
            _require("torch", "gp")
            return optuna.samplers.GPSampler(seed=seed)
        if strategy == "random":
            return optuna.samplers.RandomSampler(seed=seed)
    raise StudyError(f"strategy {strategy!r} has no Optuna sampler")


def _require(module: str, strategy: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise StudyError(
            f"strategy {strategy!r} needs the {module!r} package: pip install {module}"
        )

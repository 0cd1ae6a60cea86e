"""The `bayes` strategy: Bayesian optimisation with a Gaussian process (`ftsweep.study.gp`).

After the start-up (`ftsweep.sweep.start`), each proposal maximises expected improvement under
a GP fitted to every told trial. What it works on is the study's own encoding of the space
(`ftsweep.study.store.encoding`), so "auto", choices, zips and sub-spaces need nothing of their
own: each parameter is a feature in [0, 1] (a number on its log or linear scale; "auto" a 0/1
flag, its number at the middle while it is "auto"; a list of numbers by rank; other choices one
flag each).

- Failed and pruned trials count as the worst value told so far, so the model learns to keep away
  from learning rates that diverge.
- A batch is chosen one proposal at a time, each believed at the model's prediction before the
  next (kriging believer), and so are the trials other workers or earlier batches hold running:
  a batch spreads out instead of piling onto one optimum.
- Candidates are random points of the space and small steps around the best trials so far.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ftsweep.study.store.encoding import Encoding
from ftsweep.sweep.space import ConfigKey, Params, configuration_key

if TYPE_CHECKING:
    import numpy as np
    from optuna.distributions import BaseDistribution

    from ftsweep.study.gp import GaussianProcess
    from ftsweep.study.records import TrialRecord
    from ftsweep.sweep.load import Sweep

__all__ = ["Bayes"]

_RANDOM = 512  # random candidates per proposal round
_LOCAL = 64  # candidates around each of the best trials
_BEST = 5
_STEP = 0.08  # the size of a local step, in a feature's [0, 1]
_FLIP = 0.15  # the chance a local step changes a choice
_MOST = 300  # the most trials the model fits (the best and the latest)


class _Feature:
    """How one Optuna parameter becomes columns in [0, 1]."""

    def __init__(self, name: str, dist: BaseDistribution) -> None:
        from optuna.distributions import CategoricalDistribution

        self.name, self.dist = name, dist
        self.choices: tuple[Any, ...] | None = None
        self.kind = "number"
        if isinstance(dist, CategoricalDistribution):
            self.choices = tuple(dist.choices)
            numbers = [c for c in self.choices if _numeric(c)]
            if set(map(type, self.choices)) == {bool}:
                self.kind = "flag"
            elif len(numbers) == len(self.choices):
                self.kind = "rank"
            elif len(numbers) == len(self.choices) - 1 and len(numbers) > 1:
                self.kind = "auto-rank"
            else:
                self.kind = "onehot"

    @property
    def width(self) -> int:
        assert self.choices is not None or self.kind == "number"
        return {"number": 1, "flag": 1, "rank": 1, "auto-rank": 2}.get(
            self.kind, len(self.choices or ())
        )

    def columns(self, value: Any) -> list[float]:
        if self.kind == "number":
            return [0.5 if value is None else self._unit(float(value))]
        assert self.choices is not None
        if self.kind == "flag":
            return [1.0 if value is True else 0.0]
        if self.kind == "onehot":
            return [1.0 if value is not None and value == c else 0.0 for c in self.choices]
        numbers = sorted(c for c in self.choices if _numeric(c))
        rank = 0.5
        if value is not None and _numeric(value):
            rank = numbers.index(value) / max(len(numbers) - 1, 1) if value in numbers else 0.5
        if self.kind == "rank":
            return [rank]
        return [1.0 if value is not None and not _numeric(value) else 0.0, rank]

    def _unit(self, value: float) -> float:
        low, high = float(self.dist.low), float(self.dist.high)  # type: ignore[attr-defined]
        if high <= low:
            return 0.5
        if self.dist.log:  # type: ignore[attr-defined]
            return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        return (value - low) / (high - low)

    def draw(self, rng: random.Random) -> Any:
        if self.choices is not None:
            return rng.choice(self.choices)
        return self._from_unit(rng.random())

    def step(self, value: Any, rng: random.Random) -> Any:
        if self.choices is not None:
            return rng.choice(self.choices) if rng.random() < _FLIP else value
        u = min(max(self._unit(float(value)) + rng.gauss(0.0, _STEP), 0.0), 1.0)
        return self._from_unit(u)

    def _from_unit(self, u: float) -> Any:
        from optuna.distributions import IntDistribution

        low, high = float(self.dist.low), float(self.dist.high)  # type: ignore[attr-defined]
        if self.dist.log:  # type: ignore[attr-defined]
            x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            x = low + u * (high - low)
        step = getattr(self.dist, "step", None)
        if step:
            x = low + round((x - low) / step) * step
        x = min(max(x, low), high)
        return int(round(x)) if isinstance(self.dist, IntDistribution) else x


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Bayes:
    """Proposals of the `bayes` strategy for one ask, learnt from `live` and `warm` trials."""

    def __init__(
        self,
        sweep: Sweep,
        encoding: Encoding,
        live: Sequence[TrialRecord],
        warm: Sequence[tuple[Mapping[str, Any], float]],
        seed: int,
    ) -> None:
        self.sweep, self.encoding = sweep, encoding
        self.features = [_Feature(n, d) for n, d in encoding.distributions().items()]
        self.rng = random.Random(f"ftsweep-bayes:{seed}")
        sign = -1.0 if sweep.objectives[0].direction == "maximize" else 1.0
        told, running, pruned, failed = self._told(live, sign)
        told += [(dict(p), sign * v) for p, v in warm]
        self.model: GaussianProcess | None = None
        self._failing: GaussianProcess | None = None
        self._pool: tuple[list[Params], np.ndarray] | None = None
        if len(told) >= 2:
            self._fit(told, pruned, failed)
            self._believe([self.encoding.encode(p) for p in running])

    def _told(self, live: Sequence[TrialRecord], sign: float) -> tuple[
        list[tuple[dict[str, Any], float]], list[Params], list[dict[str, Any]], list[dict[str, Any]]
    ]:
        from ftsweep.study.records import State

        told, running, pruned, failed = [], [], [], []
        for trial in live:
            if trial.params is None:
                continue
            encoded = self.encoding.encode(trial.params)
            if trial.state == State.COMPLETE and trial.values:
                told.append((encoded, sign * trial.values[0]))
            elif trial.state == State.PRUNED:
                pruned.append(encoded)
            elif trial.state == State.FAIL:
                failed.append(encoded)
            else:
                running.append(trial.params)
        return told, running, pruned, failed

    def _fit(
        self,
        told: list[tuple[dict[str, Any], float]],
        pruned: list[dict[str, Any]],
        failed: list[dict[str, Any]],
    ) -> None:
        """The value model, over the told trials and the pruned ones (as the worst told: they
        were judged hopeless), and the failure model, over every finished trial (1 where the job
        failed): expected improvement is weighed by the chance that a job succeeds."""
        import numpy as np

        from ftsweep.study.gp import GaussianProcess

        worst = max(v for _, v in told)
        if failed:
            done = [e for e, _ in told] + pruned + failed
            flags = np.r_[np.zeros(len(done) - len(failed)), np.ones(len(failed))]
            self._failing = GaussianProcess(np.array([self._row(e) for e in done]), flags)
        rows = told + [(encoded, worst) for encoded in pruned]
        if len(rows) > _MOST:  # the best half and the latest half of what fits
            best = sorted(range(len(rows)), key=lambda i: rows[i][1])[: _MOST // 2]
            latest = range(len(rows) - _MOST // 2, len(rows))
            rows = [rows[i] for i in sorted(set(best) | set(latest))]
        x = np.array([self._row(encoded) for encoded, _ in rows])
        y = np.array([v for _, v in rows], dtype=float)
        self.model = GaussianProcess(x, y)
        self._best = [encoded for encoded, _ in sorted(told, key=lambda r: r[1])[:_BEST]]
        self._incumbent = float(np.min(self.model.predict(x)[0]))

    def _row(self, encoded: Mapping[str, Any]) -> list[float]:
        return [c for f in self.features for c in f.columns(encoded.get(f.name))]

    def _believe(self, params: Sequence[Mapping[str, Any]]) -> None:
        import numpy as np

        if self.model is not None and params:
            self.model.believe(np.array([self._row(p) for p in params]))

    def propose(self, seen: set[ConfigKey]) -> Params | None:
        """The unseen candidate of most expected improvement, believed before the next; None
        when the model has too little to learn from (fewer than two told trials)."""
        import numpy as np

        from ftsweep.study.gp import expected_improvement

        if self.model is None:
            return None
        if self._pool is None:
            self._pool = self._candidates(seen)
        params, rows = self._pool
        open_ = [i for i, p in enumerate(params) if configuration_key(p) not in seen]
        if not open_:
            return None
        mean, sd = self.model.predict(rows[open_])
        gain = expected_improvement(mean, sd, self._incumbent)
        if self._failing is not None:
            gain = gain * (1.0 - np.clip(self._failing.predict(rows[open_])[0], 0.0, 1.0))
        index = open_[int(np.argmax(gain))]
        self.model.believe(rows[index : index + 1])
        return params[index]

    def _candidates(self, seen: set[ConfigKey]) -> tuple[list[Params], np.ndarray]:
        """Random points and small steps around the best trials, each once, with their
        feature rows: made once per ask, since each decode and encode is Python work."""
        import numpy as np

        from ftsweep.sweep.start import rounded

        full = [self._full({}) for _ in range(_RANDOM)]
        for encoded in self._best:
            full += [self._full(encoded, local=True) for _ in range(_LOCAL)]
        found: dict[ConfigKey, Params] = {}
        for encoded in full:
            try:
                point = rounded(self.sweep.space, self.encoding.decode(encoded))
            except (KeyError, ValueError, IndexError, TypeError):
                continue
            key = configuration_key(point)
            if key not in seen and key not in found and self.sweep.space.contains(point):
                found[key] = point
        points = list(found.values())
        rows = np.array([self._row(self.encoding.encode(p)) for p in points])
        return points, rows.reshape(len(points), -1)

    def _full(self, encoded: Mapping[str, Any], *, local: bool = False) -> dict[str, Any]:
        """Every parameter set: a random point, or a small step from `encoded`."""
        out: dict[str, Any] = {}
        for feature in self.features:
            value = encoded.get(feature.name)
            if value is None:
                out[feature.name] = feature.draw(self.rng)
            elif local:
                out[feature.name] = feature.step(value, self.rng)
            else:
                out[feature.name] = value
        return out

"""The `bayes` strategy: Bayesian optimisation with a Gaussian process (`ftsweep.study.gp`).

After the start-up (`ftsweep.sweep.start`), each proposal maximises expected improvement under
a GP fitted to every told trial. What it works on is the study's own encoding of the space
(`ftsweep.study.store.encoding`), so "auto", choices, zips and sub-spaces need nothing of their
own: each parameter is a feature in [0, 1] (a number on its log or linear scale; "auto" a 0/1
flag, its number at the middle while no job has said what "auto" resolves to (see the last
point); a list of numbers by rank; other choices one flag each).

- Failed jobs teach a second GP, over every finished trial (1 where the job failed), whose
  chance of success weighs the expected improvement: the model keeps away from learning rates
  that diverge without ruling out their edge, where the optimum often is. A pruned trial counts
  at the last value of its curve where pruning judged the objective's metric (as Optuna's
  samplers see a pruned trial), else as the worst value told.
- A batch is chosen one proposal at a time, each held in the model at the mean told so far
  before the next (a constant liar), and so are the trials other workers or earlier batches hold
  running: a batch spreads out instead of piling onto one optimum.
- An unexplored point is expected a little worse than the median told (`gp._MEAN_QUANTILE`), so
  expected improvement does not chase the corners of the space.
- Candidates are random points of the space and small steps around the best trials so far,
  drawn as feature rows in numpy; only the chosen one is decoded into a configuration.
- "auto" sits where the service put it. A job reports the numbers it trained with (its resolved
  hyperparameters), so a trial that asked "auto" is placed at that number: its learning rate
  teaches the model about the learning-rate axis like any other trial's, and "auto" among the
  candidates is predicted at the number the service resolved it to before (`seen` holds what
  the trials trained, so the number "auto" turned into is not proposed again).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ftsweep.study.store.encoding import SPACE_PARAM, Encoding
from ftsweep.sweep.space import ConfigKey, Params, configuration_key

if TYPE_CHECKING:
    import numpy as np
    from optuna.distributions import BaseDistribution

    from ftsweep.study.gp import GaussianProcess
    from ftsweep.study.records import TrialRecord
    from ftsweep.sweep.load import Sweep

__all__ = ["Bayes"]

_RANDOM = 512  # random candidates per ask
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

    @property
    def numbers(self) -> list[Any]:
        """A list's numbers, in order (a rank's scale)."""
        return sorted(c for c in self.choices or () if _numeric(c))

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Columns of `n` random values (n x width)."""
        import numpy as np

        if self.kind == "number":
            return self._snap(rng.random(n))[:, None]
        assert self.choices is not None
        if self.kind == "flag":
            return (rng.random(n) < 0.5).astype(float)[:, None]
        if self.kind == "onehot":
            return np.eye(len(self.choices))[rng.integers(len(self.choices), size=n)]
        m = len(self.numbers)
        rank = rng.integers(m, size=n) / max(m - 1, 1)
        if self.kind == "rank":
            return rank[:, None]
        auto = (rng.random(n) < 1 / len(self.choices)).astype(float)
        return np.column_stack([auto, np.where(auto > 0, 0.5, rank)])

    def step(self, cols: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Small random steps from the rows `cols` (n x width)."""
        import numpy as np

        n = len(cols)
        if self.kind == "number":
            moved = np.clip(cols[:, 0] + rng.normal(0.0, _STEP, n), 0.0, 1.0)
            return self._snap(moved)[:, None]
        flip = rng.random(n) < _FLIP
        return np.where(flip[:, None], self.draw(n, rng), cols)

    def value(self, cols: Sequence[float]) -> Any:
        """The parameter's value at a row's columns."""
        if self.kind == "number":
            return self._from_unit(float(cols[0]))
        assert self.choices is not None
        if self.kind == "flag":
            return cols[0] > 0.5
        if self.kind == "onehot":
            return self.choices[max(range(len(cols)), key=lambda i: cols[i])]
        numbers = self.numbers
        if self.kind == "auto-rank" and cols[0] > 0.5:
            return next(c for c in self.choices if not _numeric(c))
        rank = cols[-1]
        return numbers[min(max(round(rank * (len(numbers) - 1)), 0), len(numbers) - 1)]

    @property
    def missing(self) -> list[float]:
        """The columns of a parameter a configuration does not set."""
        return self.columns(None)

    def _snap(self, u: np.ndarray) -> np.ndarray:
        """Units on the values the distribution holds (integers, steps), as units again."""
        import numpy as np

        low, high = float(self.dist.low), float(self.dist.high)  # type: ignore[attr-defined]
        if high <= low:
            return np.full_like(u, 0.5)
        log = bool(self.dist.log)  # type: ignore[attr-defined]
        span = (math.log(low), math.log(high)) if log else (low, high)
        x = span[0] + u * (span[1] - span[0])
        x = np.exp(x) if log else x
        step = getattr(self.dist, "step", None) or (1 if self._integer else None)
        if step:
            x = np.clip(low + np.round((x - low) / step) * step, low, high)
            x = np.log(x) if log else x
            return np.asarray((x - span[0]) / (span[1] - span[0]))
        return u

    @property
    def _integer(self) -> bool:
        from optuna.distributions import IntDistribution

        return isinstance(self.dist, IntDistribution)

    def _from_unit(self, u: float) -> Any:
        low, high = float(self.dist.low), float(self.dist.high)  # type: ignore[attr-defined]
        if self.dist.log:  # type: ignore[attr-defined]
            x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            x = low + u * (high - low)
        step = getattr(self.dist, "step", None)
        if step:
            x = low + round((x - low) / step) * step
        x = min(max(x, low), high)
        return int(round(x)) if self._integer else x


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
        self._resolved: dict[str, list[float]] = {}  # number column: units "auto" resolved to
        told, running, pruned, failed = self._told(live, sign)
        told += [(dict(p), sign * v) for p, v in warm]
        self.model: GaussianProcess | None = None
        self._failing: GaussianProcess | None = None
        self._pool: np.ndarray | None = None
        if len(told) >= 2:
            self._fit(told, pruned, failed)
            self._believe(running)

    def _told(
        self, live: Sequence[TrialRecord], sign: float
    ) -> tuple[
        list[tuple[dict[str, Any], float]],
        list[dict[str, Any]],
        list[dict[str, Any]],
        list[dict[str, Any]],
    ]:
        from ftsweep.study.records import State

        told, running, pruned, failed = [], [], [], []
        for trial in live:
            if trial.params is None:
                continue
            encoded = self._as_trained(trial)
            if trial.state == State.COMPLETE and trial.values:
                told.append((encoded, sign * trial.values[0]))
            elif (
                trial.state == State.PRUNED
                and self._judged_on_objective
                and trial.intermediate_values
            ):
                last = trial.intermediate_values[max(trial.intermediate_values)]
                told.append((encoded, sign * last))  # at least this bad: where it was stopped
            elif trial.state == State.PRUNED:
                pruned.append(encoded)
            elif trial.state == State.FAIL:
                failed.append(encoded)
            else:
                running.append(encoded)
        return told, running, pruned, failed

    def _as_trained(self, trial: TrialRecord) -> dict[str, Any]:
        """A trial's parameters as its job trained: each "auto" the number the service resolved
        it to, where that lies in the space (else "auto" stays); the unit each such number took
        is kept, to place the candidates' "auto" at."""
        assert trial.params is not None
        asked = self.encoding.encode(trial.params)
        trained = trial.trained
        if trained is None or trained == trial.params or not self.sweep.space.contains(trained):
            return asked
        encoded = self.encoding.encode(trained)
        for f in self.features:
            flag = asked.get(f"{f.name}.auto")
            if flag is True and encoded.get(f"{f.name}.auto") is False and f.name in encoded:
                self._resolved.setdefault(f.name, []).extend(f.columns(encoded[f.name]))
        return encoded

    @property
    def _judged_on_objective(self) -> bool:
        """Whether pruning judged the objective's own metric (the values it stopped at are
        then the objective's, as far as the job got)."""
        prune = self.sweep.spec.prune
        metric = self.sweep.objectives[0].metric
        return prune is not None and (prune.metric or metric) == metric

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
            self._failing = GaussianProcess(self._rows(done), flags)
        rows = told + [(encoded, worst) for encoded in pruned]
        if len(rows) > _MOST:  # the best half and the latest half of what fits
            best = sorted(range(len(rows)), key=lambda i: rows[i][1])[: _MOST // 2]
            latest = range(len(rows) - _MOST // 2, len(rows))
            rows = [rows[i] for i in sorted(set(best) | set(latest))]
        x = self._rows([encoded for encoded, _ in rows])
        y = np.array([v for _, v in rows], dtype=float)
        self.model = GaussianProcess(x, y)
        self._best = [encoded for encoded, _ in sorted(told, key=lambda r: r[1])[:_BEST]]
        self._incumbent = float(np.min(self.model.predict(x)[0]))

    def _row(self, encoded: Mapping[str, Any]) -> list[float]:
        return [c for f in self.features for c in f.columns(encoded.get(f.name))]

    def _rows(self, encoded: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The model's rows of encoded configurations."""
        import numpy as np

        return self._placed(np.array([self._row(e) for e in encoded], dtype=float))

    def _placed(self, rows: np.ndarray) -> np.ndarray:
        """Rows as the model sees them: an "auto" whose resolution jobs have reported is that
        number (the median of what it resolved to), flag off; the rows are not changed."""
        import numpy as np

        placed = rows.copy()
        for name, units in self._resolved.items():
            (flag, _), (a, _) = self._spans[f"{name}.auto"], self._spans[name]
            auto = placed[:, flag] > 0.5
            placed[auto, flag] = 0.0
            placed[auto, a] = float(np.median(units))
        return placed

    def _believe(self, encoded: Sequence[Mapping[str, Any]]) -> None:
        if self.model is not None and encoded:
            self.model.believe(self._rows(encoded))

    def propose(self, seen: set[ConfigKey]) -> Params | None:
        """The unseen candidate of most expected improvement, believed before the next; None
        when the model has too little to learn from (fewer than two told trials)."""
        import numpy as np

        from ftsweep.study.gp import expected_improvement

        if self.model is None:
            return None
        if self._pool is None:
            self._pool = self._candidates()
        placed = self._placed(self._pool)
        mean, sd = self.model.predict(placed)
        gain = expected_improvement(mean, sd, self._incumbent)
        if self._failing is not None:
            gain = gain * (1.0 - np.clip(self._failing.predict(placed)[0], 0.0, 1.0))
        for index in np.argsort(-gain):
            params = self._params(self._pool[index])
            if params is None:
                continue
            if configuration_key(params) not in seen:
                self._believe([self.encoding.encode(params)])
                return params
        return None

    def _candidates(self) -> np.ndarray:
        """Rows of random points and of small steps around the best trials, with the columns
        of the parameters a row does not set as a configuration would have them."""
        import numpy as np

        rng = np.random.default_rng(self.rng.getrandbits(64))
        drawn = np.hstack([f.draw(_RANDOM, rng) for f in self.features])
        rows = [drawn]
        for encoded in self._best:
            base = np.tile(np.array(self._row(encoded)), (_LOCAL, 1))
            parts, at = [], 0
            for f in self.features:
                parts.append(f.step(base[:, at : at + f.width], rng))
                at += f.width
            rows.append(np.hstack(parts))
        return self._unset(np.vstack(rows))

    def _unset(self, rows: np.ndarray) -> np.ndarray:
        """Give the parameters each row leaves out their missing columns: a number whose
        "auto" flag is set, and the parameters of the sub-spaces the row did not choose."""
        import numpy as np

        spans = self._spans
        choice = None
        if SPACE_PARAM in spans:
            choice = np.array([self._subspace(r) for r in rows])
        for f in self.features:
            a, b = spans[f.name]
            off = np.zeros(len(rows), dtype=bool)
            flag = spans.get(f"{f.name}.auto")
            if flag is not None:
                off |= rows[:, flag[0]] > 0.5
            if choice is not None and f.name != SPACE_PARAM and f.name[:1] == "s":
                prefix = f.name.split(".", 1)[0][1:]
                if prefix.isdigit():
                    off |= choice != int(prefix)
            rows[off, a:b] = f.missing
        return rows

    @cached_property
    def _spans(self) -> dict[str, tuple[int, int]]:
        spans, at = {}, 0
        for f in self.features:
            spans[f.name] = (at, at + f.width)
            at += f.width
        return spans

    def _subspace(self, row: np.ndarray) -> int:
        a, b = self._spans[SPACE_PARAM]
        feature = next(f for f in self.features if f.name == SPACE_PARAM)
        return int(feature.value(row[a:b].tolist()))

    def _params(self, row: np.ndarray) -> Params | None:
        """The configuration a candidate row stands for, rounded as bodies show it."""
        from ftsweep.sweep.start import rounded

        encoded = {
            f.name: f.value(row[a:b].tolist())
            for f in self.features
            for a, b in [self._spans[f.name]]
        }
        try:
            params = rounded(self.sweep.space, self.encoding.decode(encoded))
        except (KeyError, ValueError, IndexError, TypeError):
            return None
        return params if self.sweep.space.contains(params) else None

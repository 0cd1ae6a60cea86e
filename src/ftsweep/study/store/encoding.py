"""How a sweep's configurations are stored as Optuna parameters, fixed for the study's life.

- A union of several sub-spaces adds a categorical `space` (the sub-space's index) and prefixes
  the parameters of sub-space i with `s<i>.`, since two sub-spaces may range one dimension
  differently and a study's distributions must never change.
- A fixed dimension is not a parameter. A list of choices is a categorical ("auto" included).
- A zip group is one categorical over the index of its rows: `zip(n_epochs,beta)`.
- A range is an int or float distribution (with `step` where the range has one; a range given as
  `num` points is a categorical of those points). A range with `auto: true` adds a categorical
  `<name>.auto` (False / True) and the number is a parameter only when that is False: Optuna's
  samplers learn over both the choice and the number, and the distributions never change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from ftsweep.api.hyperparameters import AUTO
from ftsweep.sweep.dimensions import Categorical, Dimension, FloatRange, IntRange
from ftsweep.sweep.space import Axis, Params, Space, SubSpace

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

__all__ = ["Encoding"]

SPACE_PARAM = "space"


@dataclass(frozen=True)
class _AxisCode:
    """One axis's parameters; what it is is worked out once (reading a study decodes every
    trial)."""

    axis: Axis
    name: str  # the Optuna parameter (or, for auto ranges, the number's parameter)

    @cached_property
    def dimension(self) -> Dimension:
        return self.axis.dimensions[0]

    @cached_property
    def zipped(self) -> bool:
        return len(self.axis.dimensions) > 1

    @cached_property
    def auto_name(self) -> str:
        return f"{self.name}.auto"

    @cached_property
    def has_auto(self) -> bool:
        dim = self.dimension
        return not self.zipped and isinstance(dim, IntRange | FloatRange) and dim.auto

    @cached_property
    def single(self) -> bool:
        """The dimension has one value: it is no parameter."""
        return self.dimension.size == 1

    @cached_property
    def one_number(self) -> int | float | None:
        """The number of a range that has only one (`low == high`): it is no parameter."""
        dim = self.dimension
        if self.zipped or not isinstance(dim, IntRange | FloatRange):
            return None
        if dim.low == dim.high or (dim.points is not None and len(dim.points) == 1):
            return int(dim.low) if isinstance(dim, IntRange) else float(dim.low)
        return None


class Encoding:
    """Maps configurations of a space to Optuna parameters and back."""

    def __init__(self, space: Space) -> None:
        self.space = space
        union = len(space.subspaces) > 1
        self._codes = [
            [_AxisCode(axis, _param_name(axis, i if union else None)) for axis in sub.axes]
            for i, sub in enumerate(space.subspaces)
        ]

    @property
    def union(self) -> bool:
        return len(self.space.subspaces) > 1

    def distributions(self) -> dict[str, BaseDistribution]:
        """Every parameter any configuration may have, with its distribution."""
        return {name: spec.make() for name, spec in self._specs.items()}

    @cached_property
    def texts(self) -> dict[str, str]:
        """Every parameter's distribution as Optuna writes it (`distribution_to_json`), made
        without Optuna: what a journal holds for a trial of this sweep, and the study's
        signature."""
        return {name: spec.text() for name, spec in self._specs.items()}

    @cached_property
    def _specs(self) -> dict[str, _Spec]:
        out: dict[str, _Spec] = {}
        if self.union:
            out[SPACE_PARAM] = _categorical(tuple(range(len(self.space.subspaces))))
        for codes in self._codes:
            for code in codes:
                out.update(_code_distributions(code))
        return out

    def encode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna parameters of a configuration (ValueError when it is not in the space)."""
        for index, sub in enumerate(self.space.subspaces):
            if sub.contains(params):
                return self._encode_in(index, sub, params)
        raise ValueError(f"{dict(params)!r} is not a configuration of this sweep's space")

    def _encode_in(self, index: int, sub: SubSpace, params: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {SPACE_PARAM: index} if self.union else {}
        for code in self._codes[index]:
            if code.zipped:
                out[code.name] = code.axis.index_of(params)
            elif code.has_auto:
                value = params[code.dimension.name]
                out[code.auto_name] = value == AUTO
                if value != AUTO and code.one_number is None:
                    out[code.name] = _number(code.dimension, value)
            elif not code.single and code.one_number is None:
                out[code.name] = _choice(code.dimension, params[code.dimension.name])
        return out

    def internal(self, encoded: Mapping[str, Any]) -> dict[str, Any]:
        """Encoded parameters as Optuna stores them (`to_internal_repr`): a choice's index, a
        number as a float."""
        return {name: self._specs[name].internal(value) for name, value in encoded.items()}

    def decode(self, encoded: Mapping[str, Any]) -> Params:
        """The configuration that Optuna parameters stand for."""
        index = int(encoded.get(SPACE_PARAM, 0)) if self.union else 0
        params: Params = {}
        for code in self._codes[index]:
            if code.zipped:
                values = code.axis.values_at(int(encoded[code.name]))
                params.update(zip(code.axis.names, values, strict=True))
            elif code.has_auto and encoded.get(code.auto_name):
                params[code.dimension.name] = AUTO
            elif code.one_number is not None:
                params[code.dimension.name] = code.one_number
            elif code.single:
                params[code.dimension.name] = code.dimension.value_at(0)
            else:
                params[code.dimension.name] = _snap(code.dimension, encoded[code.name])
        return params

    def configuration(self, trial: FrozenTrial) -> Params | None:
        """The configuration a trial stands for, or None for a trial plain Optuna added."""
        ours = self._distributions
        made = all(ours.get(name) == dist for name, dist in trial.distributions.items())
        return self.configuration_of(trial.params, made_here=made)

    def configuration_of(self, encoded: Mapping[str, Any], *, made_here: bool) -> Params | None:
        """The configuration that a trial's parameters stand for, or None; `made_here`: every
        distribution of the trial is one of this sweep's.

        Such a trial was made from the sweep (Optuna keeps a trial's values inside its
        distributions), so decoding is all it takes: the encode-back check of `try_decode` is
        needed only for the others, and it is most of the cost of reading a large study.
        """
        if made_here:
            try:
                return self.decode(encoded)
            except (KeyError, ValueError, IndexError, TypeError):
                return None
        return self.try_decode(encoded)

    @cached_property
    def _distributions(self) -> dict[str, BaseDistribution]:
        return self.distributions()

    def try_decode(self, encoded: Mapping[str, Any]) -> Params | None:
        """The configuration that Optuna parameters stand for; None when they stand for none of
        this sweep (a trial plain Optuna added: other names, missing or extra parameters, values
        outside the space), since only then do they encode back to themselves."""
        try:
            params = self.decode(encoded)
            again = self.encode(params)
        except (KeyError, ValueError, IndexError, TypeError):
            return None
        if again.keys() != encoded.keys():
            return None
        return params if all(_same(again[k], encoded[k]) for k in again) else None

    def suggest(self, trial: optuna.Trial) -> Params:
        """Let the study's sampler choose a configuration (define-by-run, conditionals included)."""
        encoded: dict[str, Any] = {}
        distributions = self.distributions()
        if self.union:
            encoded[SPACE_PARAM] = _suggest(trial, SPACE_PARAM, distributions[SPACE_PARAM])
        for code in self._codes[int(encoded.get(SPACE_PARAM, 0))]:
            names = [code.auto_name, code.name] if code.has_auto else [code.name]
            for name in names:
                if name in distributions:
                    encoded[name] = _suggest(trial, name, distributions[name])
                if encoded.get(name) is True:  # "auto" chosen: the number is not a parameter
                    break
        return self.decode(encoded)


def _same(ours: Any, theirs: Any) -> bool:
    """Whether a stored parameter is the one ftsweep would store (a stepped float differs from
    its grid point by Optuna's arithmetic)."""
    numbers = (int, float)
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, numbers) and isinstance(theirs, numbers):
        return math.isclose(ours, theirs, rel_tol=1e-9)
    return bool(ours == theirs)


def _suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    low, high, log = distribution.low, distribution.high, distribution.log  # type: ignore[attr-defined]
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, low, high, step=distribution.step, log=log)
    return trial.suggest_float(name, low, high, step=distribution.step, log=log)  # type: ignore[attr-defined]


def _param_name(axis: Axis, subspace: int | None) -> str:
    base = axis.names[0] if len(axis.names) == 1 else f"zip({','.join(axis.names)})"
    return base if subspace is None else f"s{subspace}.{base}"


class _Spec(NamedTuple):
    """A distribution as Optuna's class and its attributes, in the order and types its
    constructor leaves them: `distribution_to_json` writes exactly these (ftsweep's ranges never
    need Optuna to move `high` onto a step)."""

    kind: str
    attributes: dict[str, Any]

    def make(self) -> BaseDistribution:
        from optuna import distributions

        made: BaseDistribution = getattr(distributions, self.kind)(**self.attributes)
        return made

    def text(self) -> str:
        return json.dumps({"name": self.kind, "attributes": self.attributes})

    def internal(self, value: Any) -> Any:
        """`to_internal_repr` of a value the distribution holds (ftsweep's choices hold no NaN,
        which Optuna looks for apart)."""
        if self.kind == "CategoricalDistribution":
            return self.attributes["choices"].index(value)
        return float(value)


def _categorical(choices: tuple[Any, ...]) -> _Spec:
    return _Spec("CategoricalDistribution", {"choices": choices})


def _code_distributions(code: _AxisCode) -> dict[str, _Spec]:
    if code.zipped:
        return {code.name: _categorical(tuple(range(code.axis.size or 0)))}
    dim = code.dimension
    if isinstance(dim, Categorical):
        return {} if dim.fixed else {code.name: _categorical(dim.values)}
    out: dict[str, _Spec] = {}
    if dim.auto:
        out[code.auto_name] = _categorical((False, True))
    number = _range_distribution(dim)
    if number is not None:
        out[code.name] = number
    return out


def _range_distribution(dim: IntRange | FloatRange) -> _Spec | None:
    points = dim.points
    if points is not None and (dim.num is not None or not _even_steps(dim)):
        return _categorical(tuple(points)) if len(points) > 1 else None
    if dim.low == dim.high:
        return None
    if isinstance(dim, IntRange):
        step = dim.step or 1  # high on the last step: Optuna warns of a range step does not divide
        high = dim.low + (dim.high - dim.low) // step * step
        ints = {"log": dim.log, "step": int(step), "low": int(dim.low), "high": int(high)}
        return _Spec("IntDistribution", ints)
    floats = {
        "step": None if dim.step is None else float(dim.step),
        "low": float(dim.low),
        "high": float(dim.high),
        "log": dim.log,
    }
    return _Spec("FloatDistribution", floats)


def _even_steps(dim: IntRange | FloatRange) -> bool:
    """Whether `step` divides high - low, as Optuna's stepped distributions need."""
    if dim.step is None:
        return True
    from decimal import Decimal

    span = Decimal(repr(dim.high)) - Decimal(repr(dim.low))
    return span % Decimal(repr(dim.step)) == 0


def _number(dim: Dimension, value: Any) -> Any:
    return int(value) if isinstance(dim, IntRange) else float(value)


def _snap(dim: Dimension, value: Any) -> Any:
    """A stepped float as its grid point: Optuna's arithmetic gives 0.30000000000000004 for 0.3."""
    if not isinstance(dim, FloatRange) or dim.step is None or isinstance(value, str):
        return value
    points = dim.points or (value,)
    return points[min(max(round((value - dim.low) / dim.step), 0), len(points) - 1)]


def _choice(dim: Dimension, value: Any) -> Any:
    """The value as the distribution stores it: the choice or grid point it matches."""
    choices = dim.values if isinstance(dim, Categorical) else dim.points
    for choice in choices or ():
        if isinstance(choice, str) or isinstance(value, str):
            if choice == value:
                return choice
        elif math.isclose(choice, value, rel_tol=1e-9):
            return choice
    return _number(dim, value)

"""Hyperparameters of the three fine-tuning methods, with the API's types and ranges.

`RULES` is the single source of truth for what each hyperparameter accepts (API_FACTS section 2):
the pydantic models below and the sweep file's dimensions are both checked against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ftsweep.api.names import METHODS, MethodName

__all__ = [
    "AUTO",
    "METHODS",
    "RULES",
    "DpoHyperparameters",
    "HyperparameterRule",
    "MethodName",
    "ReasoningEffort",
    "ReinforcementHyperparameters",
    "SupervisedHyperparameters",
    "hyperparameters_for",
]

AUTO = "auto"
ReasoningEffort = Literal["default", "low", "medium", "high"]

_ALL = frozenset(METHODS)
#: The spec sets no upper bound on eval_interval and eval_samples; ftsweep takes the API's
#: largest integer (a job's seed goes up to it too), which every later step can hold.
_MAX_INT = 2147483647


@dataclass(frozen=True)
class HyperparameterRule:
    """What one hyperparameter accepts: its type, its bounds (open or closed) or its choices."""

    name: str
    kind: Literal["int", "float", "enum"]
    methods: frozenset[str]
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()

    @property
    def allows_auto(self) -> bool:
        return self.kind != "enum"

    def describe(self, allow_auto: bool = True) -> str:
        """The rule in words, as error messages quote it."""
        if self.kind == "enum":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = "an integer" if self.kind == "int" else "a number"
        return f"{kind} {self.bounds()}" + (", or 'auto'" if allow_auto else "")

    def bounds(self) -> str:
        fmt = _fmt
        if self.low is not None and self.high is not None:
            if self.kind == "int":
                return f"from {fmt(self.low)} to {fmt(self.high)}"
            lo = f"{fmt(self.low)} {'<' if self.low_open else '<='}"
            return f"with {lo} x {'<' if self.high_open else '<='} {fmt(self.high)}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {fmt(self.low)}"
        return ""

    def check(self, value: object, *, allow_auto: bool = True) -> str | None:
        """Return why `value` is not allowed, or None when it is."""
        rule = f"must be {self.describe(allow_auto)}"
        if value == AUTO and isinstance(value, str):
            return None if (self.allows_auto and allow_auto) else rule
        if self.kind == "enum":
            return None if value in self.choices else rule
        if isinstance(value, bool) or not isinstance(value, int | float):
            return rule
        if self.kind == "int" and not isinstance(value, int):
            return f"{rule}; {value!r} is not an integer"
        if isinstance(value, float) and not math.isfinite(value):
            return rule
        return None if self.in_range(value) else rule

    def in_range(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


RULES: dict[str, HyperparameterRule] = {
    rule.name: rule
    for rule in (
        HyperparameterRule("batch_size", "int", _ALL, low=1, high=256),
        HyperparameterRule("beta", "float", frozenset({"dpo"}), low=0, high=2, low_open=True),
        HyperparameterRule(
            "compute_multiplier",
            "float",
            frozenset({"reinforcement"}),
            low=0.00001,
            high=10,
            low_open=True,
        ),
        HyperparameterRule(
            "eval_interval", "int", frozenset({"reinforcement"}), low=1, high=_MAX_INT
        ),
        HyperparameterRule(
            "eval_samples", "int", frozenset({"reinforcement"}), low=1, high=_MAX_INT
        ),
        HyperparameterRule("learning_rate_multiplier", "float", _ALL, low=0, low_open=True),
        HyperparameterRule("n_epochs", "int", _ALL, low=1, high=50),
        HyperparameterRule(
            "reasoning_effort",
            "enum",
            frozenset({"reinforcement"}),
            choices=("default", "low", "medium", "high"),
        ),
    )
}


def _ruled(name: str) -> BeforeValidator:
    """Check a value against its rule before pydantic sees it, so one clear message comes out."""
    rule = RULES[name]

    def check(value: Any) -> Any:
        reason = rule.check(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    return BeforeValidator(check)


_Int = Literal["auto"] | int
_Float = Literal["auto"] | float

BatchSize = Annotated[_Int, _ruled("batch_size")]
NEpochs = Annotated[_Int, _ruled("n_epochs")]
LearningRateMultiplier = Annotated[_Float, _ruled("learning_rate_multiplier")]
Beta = Annotated[_Float, _ruled("beta")]
ComputeMultiplier = Annotated[_Float, _ruled("compute_multiplier")]
EvalInterval = Annotated[_Int, _ruled("eval_interval")]
EvalSamples = Annotated[_Int, _ruled("eval_samples")]


class _Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, defer_build=True)

    batch_size: BatchSize | None = None
    learning_rate_multiplier: LearningRateMultiplier | None = None
    n_epochs: NEpochs | None = None


class SupervisedHyperparameters(_Hyperparameters):
    """`method.supervised.hyperparameters`."""


class DpoHyperparameters(_Hyperparameters):
    """`method.dpo.hyperparameters`."""

    beta: Beta | None = None


class ReinforcementHyperparameters(_Hyperparameters):
    """`method.reinforcement.hyperparameters`."""

    compute_multiplier: ComputeMultiplier | None = None
    eval_interval: EvalInterval | None = None
    eval_samples: EvalSamples | None = None
    reasoning_effort: ReasoningEffort | None = None


_BY_METHOD: dict[str, type[_Hyperparameters]] = {
    "supervised": SupervisedHyperparameters,
    "dpo": DpoHyperparameters,
    "reinforcement": ReinforcementHyperparameters,
}


def hyperparameters_for(method: str) -> type[_Hyperparameters]:
    """The hyperparameters model of a method."""
    return _BY_METHOD[method]

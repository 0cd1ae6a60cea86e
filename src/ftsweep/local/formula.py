"""The `calculate_output` formula of a multi grader, evaluated: checked and compiled once.

The formula is checked by `ftsweep.api.formulas.check_calculate_output` and compiled with that
module's tokenizer and grammar (its docstring has it), never handed to `eval`: each rule of the
grammar becomes a closure over the sub-graders' scores.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping

# The tokenizer of the formula checker is private to it; importing it keeps one grammar.
from ftsweep.api.formulas import _Token, _tokens, check_calculate_output

__all__ = ["Formula", "UndefinedError"]

Expression = Callable[[Mapping[str, float]], float]
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": math.pow,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": lambda *values: min(values),  # min(x) is x; Python's min(x) would iterate x
    "max": lambda *values: max(values),
    "abs": abs,
    "floor": math.floor,
    "ceil": math.ceil,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
}


class UndefinedError(ArithmeticError):
    """A formula is undefined for these scores."""


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise OverflowError(f"a step gives {value}")
    return float(value)


def _binary(op: str, left: Expression, right: Expression) -> Expression:
    function = _BINARY[op]
    return lambda scores: _finite(function(left(scores), right(scores)))


def _call(name: str, arguments: list[Expression]) -> Expression:
    function = _FUNCTIONS[name]
    return lambda scores: _finite(function(*(argument(scores) for argument in arguments)))


def _constant(value: float) -> Expression:
    return lambda scores: value


def _variable(name: str) -> Expression:
    return lambda scores: scores[name]


def _negative(operand: Expression) -> Expression:
    return lambda scores: -operand(scores)


class _Compiler:
    """Recursive descent over formulas.py's tokens, a rule a method, as its `_Parser` does;
    each rule returns the closure that computes it. Runs on formulas already checked."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.at = tokens, 0

    @property
    def next(self) -> str:
        return self.tokens[self.at].text

    def take(self) -> _Token:
        self.at += 1
        return self.tokens[self.at - 1]

    def expression(self) -> Expression:
        left = self.term()
        while self.next in ("+", "-"):
            left = _binary(self.take().text, left, self.term())
        return left

    def term(self) -> Expression:
        left = self.unary()
        while self.next in ("*", "/"):
            left = _binary(self.take().text, left, self.unary())
        return left

    def unary(self) -> Expression:
        if self.next == "-":
            self.take()
            return _negative(self.unary())
        return self.power()

    def power(self) -> Expression:
        base = self.atom()
        if self.next == "^":
            self.take()
            return _binary("^", base, self.unary())
        return base

    def atom(self) -> Expression:
        token = self.take()
        if token.kind == "number":
            return _constant(float(token.text))
        if token.text == "(":
            inner = self.expression()
            self.take()  # ")"
            return inner
        if self.next == "(":
            self.take()
            arguments = [self.expression()]
            while self.take().text == ",":  # else it took the ")"
                arguments.append(self.expression())
            return _call(token.text, arguments)
        return _variable(token.text)


class Formula:
    """A multi grader's `calculate_output`, compiled once, evaluated for each sample.

    Checked by `ftsweep.api.formulas.check_calculate_output` and compiled with that module's
    tokenizer and grammar (its docstring has it), never handed to `eval`. Arithmetic is in
    floats; `log` is the natural logarithm; `^` is right-associative and binds tighter than a
    unary minus (`-2^2` is -4). Where it is undefined (a division by zero, the log of a number
    <= 0, the sqrt of a negative number, a negative number to a fractional power, 0 to a
    negative power) or a step overflows (its result is not finite), `evaluate` raises
    UndefinedError: the multi grader then scores that sample 0.0 and counts it (`formula`).
    """

    def __init__(self, formula: str, graders: Iterable[str]) -> None:
        check_calculate_output(formula, graders)
        self.text = formula
        self._expression = _Compiler(_tokens(formula)).expression()

    def evaluate(self, scores: Mapping[str, float]) -> float:
        try:
            return _finite(self._expression(scores))
        except (ArithmeticError, ValueError) as exc:
            raise UndefinedError(f"{self.text!r} is undefined for {dict(scores)}: {exc}") from None

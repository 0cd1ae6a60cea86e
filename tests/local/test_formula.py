"""A multi grader's calculate_output, evaluated: every operator and function, and the hostile."""

from __future__ import annotations

import math

import pytest

from ftsweep.api.formulas import FORMULA_FUNCTIONS
from ftsweep.local.formula import _FUNCTIONS, Formula, UndefinedError

SCORES = {"a": 1.0, "b": 0.5}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("a + b", 1.5),
        ("a - b", 0.5),
        ("a * b", 0.5),
        ("a / b", 2.0),
        ("1 - 2 - 3", -4.0),  # left-associative
        ("8 / 4 / 2", 1.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ^ 3 ^ 2", 512.0),  # right-associative: 2 ^ 9
        ("-2 ^ 2", -4.0),  # ^ binds tighter than unary minus
        ("2 ^ -1", 0.5),
        ("--a", 1.0),
        ("-a * b", -0.5),
        ("2e1 + .5", 20.5),
        ("min(a, b, 0.25)", 0.25),
        ("max(b)", 0.5),
        ("max(a, b) - min(a, b)", 0.5),
        ("abs(b - a)", 0.5),
        ("floor(2.7)", 2.0),
        ("floor(-2.5)", -3.0),
        ("ceil(2.1)", 3.0),
        ("exp(0)", 1.0),
        ("sqrt(9)", 3.0),
        ("log(1)", 0.0),
        ("log(exp(2))", 2.0),  # natural
        ("0.7 * a + 0.3 * b", 0.85),
    ],
)
def test_each_operator_and_function(formula: str, expected: float) -> None:
    assert Formula(formula, SCORES).evaluate(SCORES) == pytest.approx(expected)


def test_every_function_of_the_grammar_is_implemented() -> None:
    assert set(_FUNCTIONS) == set(FORMULA_FUNCTIONS)


@pytest.mark.parametrize(
    "formula",
    [
        "a / (b - b)",
        "log(0)",
        "log(-1)",
        "sqrt(-1)",
        "exp(1000)",
        "10 ^ 400",
        "(-8) ^ (1 / 3)",  # not real
        "0 ^ -1",
        "1e308 * 10",  # overflows to inf, which min would hide
        "min(1e308 * 10, 1)",
        "1e999",
    ],
)
def test_an_undefined_formula_raises_undefined_error(formula: str) -> None:
    with pytest.raises(UndefinedError, match="is undefined for"):
        Formula(formula, SCORES).evaluate(SCORES)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("__import__('os')", "not allowed"),
        ("a ** 2", "not allowed"),
        ("c + 1", "'c' is not one of its graders"),
        ("a.real", "not allowed"),
    ],
)
def test_only_the_grammar_compiles(formula: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Formula(formula, SCORES)


def test_a_long_formula_evaluates() -> None:
    formula = " + ".join(["a"] * 500)
    assert Formula(formula, SCORES).evaluate(SCORES) == 500.0
    assert math.isclose(Formula("(" * 50 + "b" + ")" * 50, SCORES).evaluate(SCORES), 0.5)

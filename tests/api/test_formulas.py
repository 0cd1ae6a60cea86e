"""`calculate_output`: a real expression grammar, every error at its column."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftsweep.api.formulas import FORMULA_FUNCTIONS, check_calculate_output

NAMES = ["accuracy", "style"]


@pytest.mark.parametrize(
    "formula",
    [
        "accuracy",
        "0.5 * accuracy + 0.5 * style",
        "(accuracy+style)/2",
        "accuracy ^ 2 - style",
        "accuracy ^ -2 ^ 3",
        "min(accuracy, style)",
        "max(accuracy)",
        "max(abs(accuracy - 1), floor(style), ceil(style))",
        "exp(accuracy) + sqrt(style) + log(1e-3 + style)",
        "-accuracy + .5 + 2.",
        "--accuracy * -(style)",
    ],
)
def test_well_formed_formulas_pass(formula: str) -> None:
    check_calculate_output(formula, NAMES)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("0.7 * accuracy +", "column 16: expected an operand after '+'"),
        ("accuracy style", "column 10: expected an operator before 'style'"),
        ("max() + ()", "column 1: max needs at least 1 argument"),
        ("max(accuracy) + ()", "column 17: expected an operand after '('"),
        ("max(accuracy,)", "column 13: expected an operand after ','"),
        ("max(accuracy style)", "column 14: expected ')' or an operator before 'style'"),
        ("sqrt(accuracy, style)", "column 1: sqrt takes exactly 1 argument, got 2"),
        ("abs()", "column 1: abs takes exactly 1 argument, got 0"),
        ("accuracy(1)", "column 1: 'accuracy' is a grader, not a function"),
        ("1 + min", "column 5: min is a function: write min(...)"),
        ("* accuracy", "column 1: expected an operand, not '*'"),
        ("accuracy * / style", "column 10: expected an operand after '*'"),
        ("(accuracy", "column 1: this '(' is never closed"),
        ("accuracy)", "column 9: this ')' has no '(' to close"),
        ("accuracy + foo", "column 12: 'foo' is not one of its graders (accuracy, style) nor an"),
        ("pow(accuracy, 2)", "column 1: 'pow' is not one of its graders"),
        ("Accuracy", "column 1: 'Accuracy' is not one of its graders"),
    ],
)
def test_malformed_formulas_are_refused_at_their_column(formula: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        check_calculate_output(formula, NAMES)


@pytest.mark.parametrize(
    ("formula", "token", "column"),
    [
        ("accuracy % 2", "%", 10),
        ("accuracy ** 2", "**", 10),
        ("style.score", ".", 6),
        ("accuracy == style", "==", 10),
        ("{{ item.x }}", "{{", 1),
        ("accuracy + é", "é", 12),
        ("accuracy + 2 ≥ style", "≥", 14),
    ],
)
def test_a_symbol_outside_the_grammar_is_named(formula: str, token: str, column: int) -> None:
    expected = f"column {column}: {token!r} is not allowed; use + - * / ^"
    with pytest.raises(ValueError, match="^" + re.escape(expected)):
        check_calculate_output(formula, NAMES)


def test_an_empty_formula_is_refused() -> None:
    with pytest.raises(ValueError, match="^must not be empty$"):
        check_calculate_output("  ", NAMES)


def test_a_formula_nested_too_deeply_is_refused_not_crashed() -> None:
    with pytest.raises(ValueError, match="^is nested too deeply$"):
        check_calculate_output("(" * 5000 + "accuracy" + ")" * 5000, NAMES)


# --- every expression the grammar builds parses ----------------------------------------------

_atoms = st.one_of(
    st.sampled_from(NAMES),
    st.integers(0, 1000).map(str),
    st.floats(0, 1000, allow_nan=False).map(lambda x: f"{x:.3f}"),
)


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    one_argument = [f for f in FORMULA_FUNCTIONS if f not in ("min", "max")]
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^"]), inner).map(" ".join),
        inner.map(lambda e: f"-{e}"),
        inner.map(lambda e: f"({e})"),
        st.tuples(st.sampled_from(one_argument), inner).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(inner, min_size=1, max_size=4)).map(
            lambda p: f"{p[0]}({', '.join(p[1])})"
        ),
    )


@given(st.recursive(_atoms, _grow, max_leaves=20))
def test_every_expression_of_the_grammar_parses(formula: str) -> None:
    check_calculate_output(formula, NAMES)

"""The `calculate_output` formula of a multi grader, checked (never evaluated) when it is read.

A formula combines the multi grader's graders by name with numbers, `+ - * / ^ ( ) ,` and the
functions in FORMULA_FUNCTIONS: `0.7 * accuracy + 0.3 * style`, `max(accuracy, style)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

__all__ = ["FORMULA_FUNCTIONS", "check_calculate_output"]

FORMULA_FUNCTIONS = ("min", "max", "abs", "floor", "ceil", "exp", "sqrt", "log")

_TOKEN = re.compile(  # every non-blank character falls in one group: nothing is skipped
    r"\s*(?:(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<bad>\*\*|(?:(?![A-Za-z0-9_])[^\s()+\-*/^,])+)"
    r"|(?P<op>[-+*/^(),]))"
)


def _formula_tokens(formula: str) -> Iterator[tuple[str, str]]:
    for match in _TOKEN.finditer(formula.rstrip()):
        kind = match.lastgroup
        assert kind is not None
        yield kind, match[kind]


def _check_token(kind: str, token: str, names: list[str]) -> None:
    if kind == "bad":
        raise ValueError(
            f"calculate_output uses {token!r}, which is not allowed; use + - * / ^ ( ) ,"
            f" numbers, {' '.join(FORMULA_FUNCTIONS)} and the graders' names"
        )
    if kind == "name" and token not in names and token not in FORMULA_FUNCTIONS:
        raise ValueError(
            f"calculate_output uses {token!r}, which is not one of its graders"
            f" ({', '.join(names)}) nor an allowed function"
        )


def check_calculate_output(formula: str, graders: Iterable[str]) -> None:
    """Raise ValueError unless `formula` uses only operators, numbers, functions and `graders`."""
    names, depth = list(graders), 0
    if not formula.strip():
        raise ValueError("calculate_output must not be empty")
    for kind, token in _formula_tokens(formula):
        _check_token(kind, token, names)
        depth += {"(": 1, ")": -1}.get(token, 0) if kind == "op" else 0
        if depth < 0:
            raise ValueError(f"calculate_output has an unmatched ')': {formula!r}")
    if depth:
        raise ValueError(f"calculate_output has an unclosed '(': {formula!r}")

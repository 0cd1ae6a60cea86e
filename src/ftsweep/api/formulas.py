"""The `calculate_output` formula of a multi grader, parsed (never evaluated) when it is read.

A formula combines the multi grader's graders by name with numbers, `+ - * / ^`, unary minus,
parentheses and the functions in FORMULA_FUNCTIONS: `0.7 * accuracy + 0.3 * style`,
`max(accuracy, style)`. The grammar, from the loosest operator to the tightest:

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | power
    power      := atom ("^" unary)?                       (right-associative)
    atom       := number | grader | function "(" expression ("," expression)* ")"
                | "(" expression ")"

`min` and `max` take one argument or more (the graders guide gives no arity), the others exactly
one. Every error names the column, counted from 1 within the formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["FORMULA_FUNCTIONS", "check_calculate_output"]

FORMULA_FUNCTIONS = ("min", "max", "abs", "floor", "ceil", "exp", "sqrt", "log")
_VARIADIC = ("min", "max")

_TOKEN = re.compile(  # every non-blank character falls in one group: nothing is skipped
    r"\s*(?:(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<bad>\*\*|(?:(?![A-Za-z0-9_])[^\s()+\-*/^,])+)"
    r"|(?P<op>[-+*/^(),]))"
)
_ALLOWED = f"use + - * / ^ ( ) , numbers, {' '.join(FORMULA_FUNCTIONS)} and the graders' names"


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, op, or end
    text: str
    column: int  # 1-based


class FormulaError(ValueError):
    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")


def _tokens(formula: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(formula.rstrip()):
        kind = match.lastgroup
        assert kind is not None
        column = match.start(kind) + 1
        if kind == "bad":
            raise FormulaError(column, f"{match[kind]!r} is not allowed; {_ALLOWED}")
        tokens.append(_Token(kind, match[kind], column))
    tokens.append(_Token("end", "", len(formula.rstrip()) + 1))
    return tokens


class _Parser:
    """Recursive descent over the tokens; each method consumes one rule of the grammar."""

    def __init__(self, tokens: list[_Token], graders: list[str]) -> None:
        self.tokens, self.at, self.graders = tokens, 0, graders

    @property
    def next(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expression(self) -> None:
        self.term()
        while self.next.text in ("+", "-"):
            self.operand_after(self.take(), self.term)

    def term(self) -> None:
        self.unary()
        while self.next.text in ("*", "/"):
            self.operand_after(self.take(), self.unary)

    def unary(self) -> None:
        if self.next.text == "-":
            self.operand_after(self.take(), self.unary)
        else:
            self.power()

    def power(self) -> None:
        self.atom()
        if self.next.text == "^":
            self.operand_after(self.take(), self.unary)

    def operand_after(self, op: _Token, rule: Callable[[], None]) -> None:
        """Parse `rule`, which follows `op`, once sure an operand starts there."""
        if self.next.kind not in ("number", "name") and self.next.text not in ("(", "-"):
            raise FormulaError(op.column, f"expected an operand after {op.text!r}")
        rule()

    def atom(self) -> None:
        token = self.take()
        if token.kind == "number":
            return
        if token.kind == "name":
            self.name(token)
        elif token.text == "(":
            self.operand_after(token, self.expression)
            self.close(token)
        elif token.kind == "end":
            raise FormulaError(token.column, "expected an operand")
        else:
            raise FormulaError(token.column, f"expected an operand, not {token.text!r}")

    def name(self, token: _Token) -> None:
        if token.text in self.graders and self.next.text != "(":
            return
        if token.text not in FORMULA_FUNCTIONS:
            where = (
                "a grader, not a function"
                if token.text in self.graders
                else (f"not one of its graders ({', '.join(self.graders)}) nor an allowed function")
            )
            raise FormulaError(token.column, f"{token.text!r} is {where}")
        if self.next.text != "(":
            raise FormulaError(token.column, f"{token.text} is a function: write {token.text}(...)")
        self.call(token, self.take())

    def call(self, function: _Token, opening: _Token) -> None:
        count = 0
        if self.next.text != ")":
            self.operand_after(opening, self.expression)
            count = 1
            while self.next.text == ",":
                self.operand_after(self.take(), self.expression)
                count += 1
        self.close(opening)
        if function.text in _VARIADIC and count < 1:
            raise FormulaError(function.column, f"{function.text} needs at least 1 argument")
        if function.text not in _VARIADIC and count != 1:
            raise FormulaError(
                function.column, f"{function.text} takes exactly 1 argument, got {count}"
            )

    def close(self, opening: _Token) -> None:
        if self.next.text != ")":
            if self.next.kind == "end":
                raise FormulaError(opening.column, "this '(' is never closed")
            raise FormulaError(
                self.next.column, f"expected ')' or an operator before {self.next.text!r}"
            )
        self.take()


def check_calculate_output(formula: str, graders: Iterable[str]) -> None:
    """Raise ValueError unless `formula` is a well-formed formula over `graders`."""
    if not formula.strip():
        raise ValueError("must not be empty")
    parser = _Parser(_tokens(formula), list(graders))
    try:
        parser.expression()
    except RecursionError:
        raise ValueError("is nested too deeply") from None
    extra = parser.next
    if extra.text == ")":
        raise FormulaError(extra.column, "this ')' has no '(' to close")
    if extra.kind != "end":
        raise FormulaError(extra.column, f"expected an operator before {extra.text!r}")

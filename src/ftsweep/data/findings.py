"""A problem found in a data file, with its severity, and the collector the row checks share.

Data checks report warnings as well as errors (an example over the context is billed, not
refused), so a `Finding` pairs a `ftsweep.errors.Problem` with a severity rather than widening
`Problem`. Findings cross process boundaries (the file scan checks chunks in parallel): they
pickle as they are, a value-less Problem too (its "no value" marker is an enum member).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, TypeAlias

from ftsweep.errors import Problem

__all__ = ["NO_VALUE", "Finding", "Loc", "Severity", "Shown", "Sink", "printable"]

Severity: TypeAlias = Literal["error", "warning"]
Loc: TypeAlias = tuple[str | int, ...]

#: The default `Problem.value`: a problem built without a value renders no "(got ...)".
NO_VALUE: object = next(f.default for f in fields(Problem) if f.name == "value")


@dataclass(frozen=True)
class Finding:
    """One problem of a data file and whether it stops the check (`error`) or not (`warning`)."""

    problem: Problem
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self, file: str | None = None) -> str:
        """`file:line: field.path: rule (got value)`, as `Problem.render` writes it."""
        return self.problem.render(file)


_MAX_DEPTH = 64
_SHOWN = 60  # characters of a value that Problem.render shows


@dataclass(frozen=True)
class Shown:
    """A list or object found in a row, kept as the text a message shows of it: a finding then
    carries a few bytes back from a worker instead of the row's content, and a value nested too
    deep for `repr` (orjson reads 1,024 levels) still prints."""

    text: str

    def __repr__(self) -> str:
        return self.text


def printable(value: object) -> object:
    """`value`, or for a list or object the `Shown` text of it."""
    if not isinstance(value, list | dict):
        return value
    level: list[object] = [value]
    for _ in range(_MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, list | dict)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            text = repr(value)
            return Shown(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")
    return Shown(f"<a value nested over {_MAX_DEPTH} levels deep>")


class Sink:
    """Collects the findings of one line, all of them, in the order the checks meet them."""

    __slots__ = ("found", "line")

    def __init__(self, line: int | None) -> None:
        self.line = line
        self.found: list[Finding] = []

    def error(self, loc: Loc, message: str, value: object = NO_VALUE) -> None:
        self.found.append(Finding(Problem(loc, message, printable(value), self.line)))

    def warn(self, loc: Loc, message: str, value: object = NO_VALUE) -> None:
        problem = Problem(loc, message, printable(value), self.line)
        self.found.append(Finding(problem, "warning"))

"""One cell of a results file or a job object: present or not, a finite number, a whole count."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["finite", "metric_cell", "present", "whole"]


def metric_cell(cells: Mapping[str, object], name: str) -> object:
    """A metric's raw value under its name, `scores.<name>`, or in a nested `scores` object."""
    scores = cells.get("scores")
    nested = scores.get(name) if isinstance(scores, Mapping) else None
    candidates = (cells.get(name), cells.get(f"scores.{name}"), nested)
    return next((v for v in map(present, candidates) if v is not None), None)


def present(value: object) -> object:
    """A cell's value, stripped; None when it is absent or empty."""
    if isinstance(value, str):
        value = value.strip()
    return None if value == "" else value


def finite(value: object) -> float | None:
    """A finite float from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def whole(value: object) -> int | None:
    """A whole number >= 0 from an int, an integral float (`7.0`) or such a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    number = finite(value)
    if number is None or not number.is_integer() or number < 0:
        return None
    return int(number)

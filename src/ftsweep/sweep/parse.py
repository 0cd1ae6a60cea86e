"""Turn the `space` (and `zip`) of a sweep file into a `Space`, collecting every problem.

A dimension is written as a scalar (a fixed value), a list (choices) or a mapping (a range
`{low, high, log?, step?, num?, auto?}`); `space` may be one mapping or a list of them (a union),
and each mapping may hold a `zip` list of dimension-name groups that advance together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ftsweep.api.hyperparameters import AUTO, RULES, HyperparameterRule
from ftsweep.errors import Problem
from ftsweep.sweep.dimensions import (
    Categorical,
    Dimension,
    FloatRange,
    IntRange,
    RangeError,
    Value,
    template_text,
)
from ftsweep.sweep.space import MAX_SPACE_SIZE, UNDECIDED, Axis, Space, SubSpace, shared_point

__all__ = ["RANGE_KEYS", "parse_space"]

Loc = tuple[str | int, ...]
RANGE_KEYS = ("low", "high", "log", "step", "num", "auto")


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, value: object) -> None:
        self.problems.append(Problem(loc, message, value))


def parse_space(
    raw: Any, method: str | None, zips: Any = None, *, model_fixed: bool = False
) -> tuple[Space | None, list[Problem]]:
    """Parse a space; `method` None skips the checks that need a valid method."""
    out = _Collector()
    if isinstance(raw, Mapping):
        subs = [_subspace(raw, ("space",), method, zips, out)]
    elif isinstance(raw, list) and raw and all(isinstance(s, Mapping) for s in raw):
        subs = [_subspace(s, ("space", i), method, zips, out) for i, s in enumerate(raw)]
    else:
        rule = "must be a mapping of dimensions, or a non-empty list of such mappings (a union)"
        return None, [Problem(("space",), rule, raw)]
    if not model_fixed:
        for loc, sub in zip(_sub_locs(raw), subs, strict=False):
            if sub is not None and "model" not in sub.names:
                out.add(loc, "no model: give `model` at the top level or as a dimension", None)
    if out.problems or any(s is None for s in subs):
        return None, out.problems
    space = Space(tuple(s for s in subs if s is not None))
    if overlaps := list(_overlaps(space)):
        return None, overlaps
    if space.size is not None and space.size > MAX_SPACE_SIZE:
        rule = f"has more than {MAX_SPACE_SIZE} configurations, more than can be indexed"
        return None, [Problem(("space",), rule + "; narrow its ranges", space.size)]
    return space, []


def _overlaps(space: Space) -> Iterable[Problem]:
    """A union's sub-spaces must share no configuration, or its job would be planned twice."""
    for later, sub in enumerate(space.subspaces):
        for earlier in range(later):
            point = shared_point(space.subspaces[earlier], sub)
            if point is None:
                continue
            if point is UNDECIDED:
                why = "their zip groups cross, so ftsweep cannot tell"
                rule = f"may overlap space[{earlier}] ({why}): zip the same dimensions in both"
            else:
                shared = ", ".join(f"{n}={template_text(v)}" for n, v in point.items())
                rule = (
                    f"overlaps space[{earlier}]: both hold {shared}, which would run twice;"
                    " the sub-spaces of a union must not share a configuration"
                )
            yield Problem(("space", later), rule)
            break


def _sub_locs(raw: Any) -> list[Loc]:
    return [("space",)] if isinstance(raw, Mapping) else [("space", i) for i in range(len(raw))]


def _subspace(
    raw: Mapping[str, Any], loc: Loc, method: str | None, top_zips: Any, out: _Collector
) -> SubSpace | None:
    if not raw or set(raw) == {"zip"}:
        out.add(loc, "a space needs at least one dimension", dict(raw))
        return None
    before = len(out.problems)
    dims = {
        str(name): _dimension(str(name), value, (*loc, str(name)), method, out)
        for name, value in raw.items()
        if name != "zip"
    }
    used: set[str] = set()  # shared: a dimension is zipped once, in the sub-space or at the top
    groups = _zip_groups(raw.get("zip"), (*loc, "zip"), dims, out, used)
    if top_zips is not None:
        groups += _zip_groups(top_zips, ("zip",), dims, out, used)
    if len(out.problems) > before:
        return None
    return _assemble(dims, groups, out)


def _assemble(
    dims: dict[str, Dimension | None], groups: list[tuple[list[str], Loc]], out: _Collector
) -> SubSpace | None:
    zipped = {name: (group, where) for group, where in groups for name in group}
    axes: list[Axis] = []
    for name, dim in dims.items():
        assert dim is not None
        members, where = zipped.get(name, ([name], ()))
        if members[0] != name:
            continue  # placed with the first member of its group
        try:
            axes.append(Axis(tuple(d for n in members if (d := dims[n]) is not None)))
        except ValueError as exc:
            out.add(where, str(exc), members)
            return None
    return SubSpace(tuple(axes))


def _zip_groups(
    raw: Any, loc: Loc, dims: Mapping[str, Dimension | None], out: _Collector, used: set[str]
) -> list[tuple[list[str], Loc]]:
    """The valid groups of a `zip` list, each with the path it was written at."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(
        isinstance(g, list) and all(isinstance(n, str) for n in g) for g in raw
    ):
        out.add(loc, "must be a list of groups, each a list of dimension names", raw)
        return []
    groups = []
    for i, group in enumerate(raw):
        if len(group) < 2:
            out.add((*loc, i), "a zip group needs at least two dimension names", group)
        elif unknown := [n for n in group if n not in dims]:
            out.add(
                (*loc, i),
                f"names no dimension of this space: {', '.join(map(str, unknown))}",
                group,
            )
        elif used & set(group) or len(set(group)) != len(group):
            out.add((*loc, i), "a dimension can be in only one zip group, once", group)
        else:
            used |= set(group)
            groups.append(([str(n) for n in group], (*loc, i)))
    return groups


def _dimension(
    name: str, raw: Any, loc: Loc, method: str | None, out: _Collector
) -> Dimension | None:
    if name == "model":
        return _model(raw, loc, out)
    rule = RULES.get(name)
    if rule is None:
        known = ", ".join(sorted((*RULES, "model", "zip")))
        out.add(loc, f"unknown dimension; dimensions are: {known}", name)
        return None
    if method is not None and method not in rule.methods:
        has = ", ".join(n for n, r in RULES.items() if method in r.methods)
        out.add(loc, f"is not a hyperparameter of the {method} method (it has: {has})", name)
        return None
    if isinstance(raw, Mapping):
        return _range(rule, raw, loc, out)
    return _choices(rule, raw if isinstance(raw, list) else [raw], loc, out, isinstance(raw, list))


def _model(raw: Any, loc: Loc, out: _Collector) -> Dimension | None:
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        out.add(loc, "a model is a non-empty name, or a list of names", raw)
        return None
    return _categorical("model", values, loc, out)


def _categorical(name: str, values: Sequence[Value], loc: Loc, out: _Collector) -> Dimension | None:
    try:
        return Categorical(name, tuple(values))
    except ValueError as exc:
        out.add(loc, str(exc), list(values))
        return None


def _choices(
    rule: HyperparameterRule, values: list[Any], loc: Loc, out: _Collector, is_list: bool
) -> Dimension | None:
    before = len(out.problems)
    for i, value in enumerate(values):
        reason = rule.check(value)
        if reason is not None:
            out.add((*loc, i) if is_list else loc, reason, value)
    if len(out.problems) > before:
        return None
    if rule.kind == "float":
        values = [v if v == AUTO else float(v) for v in values]
    return _categorical(rule.name, values, loc, out)


def _range(
    rule: HyperparameterRule, raw: Mapping[str, Any], loc: Loc, out: _Collector
) -> Dimension | None:
    if rule.kind == "enum":
        out.add(loc, f"cannot be a range: it must be {rule.describe()}", dict(raw))
        return None
    before = len(out.problems)
    for key in raw:
        if key not in RANGE_KEYS:
            out.add(
                (*loc, str(key)), f"unknown key in a range (allowed: {', '.join(RANGE_KEYS)})", key
            )
    for key in ("low", "high"):
        if key not in raw:
            out.add((*loc, key), "a range needs low and high", None)
    fields = {key: raw[key] for key in RANGE_KEYS if key in raw}
    _check_range_fields(rule, fields, loc, out)
    if len(out.problems) > before:
        return None
    cls = IntRange if rule.kind == "int" else FloatRange
    try:
        return cls(rule.name, **fields)
    except RangeError as exc:
        out.add((*loc, exc.field), str(exc), fields.get(exc.field))
        return None


def _check_range_fields(
    rule: HyperparameterRule, fields: Mapping[str, Any], loc: Loc, out: _Collector
) -> None:
    for key in ("low", "high"):
        if key in fields and (reason := rule.check(fields[key], allow_auto=False)):
            out.add((*loc, key), reason, fields[key])
    for key in ("log", "auto"):
        if key in fields and not isinstance(fields[key], bool):
            out.add((*loc, key), "must be true or false", fields[key])
    if "num" in fields and (isinstance(fields["num"], bool) or not isinstance(fields["num"], int)):
        out.add((*loc, "num"), "must be an integer (the number of grid points)", fields["num"])
    step = fields.get("step")
    if step is not None and (
        isinstance(step, bool)
        or not isinstance(step, int | float)
        or (rule.kind == "int" and not isinstance(step, int))
        or not math.isfinite(step)
    ):
        kind = "an integer" if rule.kind == "int" else "a finite number"
        out.add((*loc, "step"), f"must be {kind}", step)

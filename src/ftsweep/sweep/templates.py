"""Templates in `job.suffix` and `job.metadata` values: `{sweep}`, `{trial}` and any dimension.

Checked once when the file loads, against the longest text each placeholder can produce, so a
sweep whose suffix or metadata could break the API's limits is refused before any trial exists.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ftsweep.api.common import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_SUFFIX_LENGTH,
)
from ftsweep.errors import Problem

if TYPE_CHECKING:
    from ftsweep.sweep.space import Space
    from ftsweep.sweep.spec import SweepSpec

__all__ = [
    "RESERVED_METADATA",
    "USER_METADATA_PAIRS",
    "check_suffix_and_metadata",
    "placeholders",
    "trial_text",
]

#: Metadata keys ftsweep writes into every job request.
RESERVED_METADATA = ("ftsweep_sweep", "ftsweep_trial")
USER_METADATA_PAIRS = MAX_METADATA_PAIRS - len(RESERVED_METADATA)
_MIN_TRIAL_DIGITS = 4
_UNBOUNDED_TRIAL_DIGITS = 7


def trial_text(index: int) -> str:
    """How `{trial}` renders: the trial's number, zero-padded to four digits."""
    return f"{index:0{_MIN_TRIAL_DIGITS}d}"


def placeholders(template: str) -> list[str]:
    """The placeholder names of a template, in order (ValueError for a malformed one)."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name or spec or conversion:
            raise ValueError("placeholders are plain names in braces, like {trial} (no formats)")
        names.append(name)
    return names


def _widths(spec: SweepSpec, space: Space) -> dict[str, int]:
    bound = spec.max_trials or space.size
    digits = len(str(bound - 1)) if bound else _UNBOUNDED_TRIAL_DIGITS
    widths = {"sweep": len(spec.name), "trial": max(_MIN_TRIAL_DIGITS, digits)}
    for sub in space.subspaces:
        for name in space.names:
            dim = sub.dimensions.get(name)
            if dim is not None:
                width = dim.text_width()
            else:  # a sub-space without the dimension renders the top-level model, or "auto"
                width = len(spec.model) if name == "model" and spec.model else len("auto")
            widths[name] = max(widths.get(name, 0), width)
    return widths


def _check(
    template: str, loc: tuple[str | int, ...], limit: int, widths: dict[str, int]
) -> Iterable[Problem]:
    try:
        names = placeholders(template)
    except ValueError as exc:
        yield Problem(loc, str(exc), template)
        return
    unknown = [n for n in names if n not in widths]
    if unknown:
        allowed = ", ".join("{" + n + "}" for n in widths)
        rule = f"unknown placeholder {{{unknown[0]}}}; templates may use {allowed}"
        yield Problem(loc, rule, template)
        return
    literal = sum(len(text) for text, *_ in string.Formatter().parse(template))
    longest = literal + sum(widths[n] for n in names)
    if longest > limit:
        rule = f"can be {longest} characters long once filled in; the API allows at most {limit}"
        yield Problem(loc, rule, template)


def check_suffix_and_metadata(spec: SweepSpec, space: Space) -> list[Problem]:
    """Every problem with the job's suffix and metadata, at their longest."""
    widths = _widths(spec, space)
    job = spec.job
    problems: list[Problem] = []
    if job.suffix is not None:
        problems += _check(job.suffix, ("job", "suffix"), MAX_SUFFIX_LENGTH, widths)
    if len(job.metadata) > USER_METADATA_PAIRS:
        rule = (
            f"at most {USER_METADATA_PAIRS} pairs: the API allows {MAX_METADATA_PAIRS} and ftsweep "
            f"adds {' and '.join(RESERVED_METADATA)}"
        )
        problems.append(Problem(("job", "metadata"), rule, len(job.metadata)))
    for key, value in job.metadata.items():
        loc = ("job", "metadata", key)
        if key in RESERVED_METADATA or key.startswith("ftsweep_"):
            problems.append(Problem(loc, "keys starting with ftsweep_ are ftsweep's own", key))
        elif len(key) > MAX_METADATA_KEY_LENGTH:
            rule = f"a metadata key has at most {MAX_METADATA_KEY_LENGTH} characters"
            problems.append(Problem(loc, rule, key))
        problems += _check(value, loc, MAX_METADATA_VALUE_LENGTH, widths)
    return problems

"""The user's price table: a `prices:` section in the sweep file, or a file of the same shape.

A price file (YAML, TOML or JSON) holds a `prices:` mapping of model name to `Price`, beside
`source`, `date` and `currency` notes for the people who keep it; `examples/prices.yaml` is one.
Prices change and differ by vendor, so ftsweep holds none of its own.

Which table applies, by model: the file `--prices` names, else the file `FTSWEEP_PRICES` names,
over the sweep file's own `prices:` (so a team's table can stand in for a stale one in a file).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftsweep.errors import Problem, SweepFileError
from ftsweep.sweep.spec import Price

if TYPE_CHECKING:
    from ftsweep.sweep.load import Sweep

__all__ = ["PRICES_VARIABLE", "load_prices", "price_table"]

PRICES_VARIABLE = "FTSWEEP_PRICES"


class PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: dict[str, Price] = Field(min_length=1)
    source: str | None = None
    date: datetime.date | str | None = None  # YAML reads 2025-06-01 as a date
    currency: str | None = None


def load_prices(path: str | Path) -> dict[str, Price]:
    """The price table of a price file; a SweepFileError naming the line of every problem."""
    return dict(_load(str(path)).prices)


def _load(path: str) -> PriceFile:
    from ftsweep.sweep.document import read_document
    from ftsweep.sweep.load import problems_of

    if not Path(path).is_file():
        why = f"no such price file (named by --prices or {PRICES_VARIABLE})"
        raise SweepFileError(path, [Problem((), why)])
    data, positions = read_document(path)
    try:
        return PriceFile.model_validate(data)
    except ValidationError as exc:
        problems = sorted(map(positions.locate, problems_of(exc)), key=lambda p: p.line or 0)
        raise SweepFileError(path, problems) from None


def price_table(
    sweep: Sweep, file: str | Path | None = None, environ: Mapping[str, str] = os.environ
) -> dict[str, Price]:
    """The prices that apply to a sweep (see the module docstring)."""
    named = file if file is not None else environ.get(PRICES_VARIABLE) or None
    table = dict(sweep.spec.prices)
    if named is not None:
        table.update(load_prices(named))
    return table

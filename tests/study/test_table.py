"""The trials table without pandas (`ftsweep.study.table`): columns with kinds, typed cells."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ftsweep.study.table import Column, table_columns, typed
from ftsweep.sweep import loads_sweep

from .test_frame import SUPERVISED_COLUMNS
from .test_study import sweep_text

NAN = math.nan


def test_columns_have_the_kinds_of_the_sweep() -> None:
    columns = table_columns(loads_sweep(sweep_text()))
    assert [c.name for c in columns] == SUPERVISED_COLUMNS
    kinds = {c.name: c.kind for c in columns}
    assert (kinds["number"], kinds["n_epochs"], kinds["batch_size"]) == ("int", "int", "int")
    assert (kinds["batch_size_auto"], kinds["full_valid_loss"]) == ("flag", "float")
    assert (kinds["resolved_learning_rate_multiplier"], kinds["started"]) == ("float", "time")
    assert [c.name for c in columns if c.auto] == ["batch_size"]
    assert [c.name for c in columns if c.required] == ["number"]


@pytest.mark.parametrize(
    ("column", "values", "expected", "kind"),
    [
        (Column("n", "int"), [1, 2.0, None, NAN], [1, 2, None, None], "int"),
        (Column("n", "int"), [1, 2.5, None], [1.0, 2.5, None], "float"),  # not all whole
        (Column("n", "int"), [1, math.inf], [1.0, math.inf], "float"),
        (Column("n", "int"), ["auto", 3, NAN], ["auto", 3, None], None),  # kept as it came
        (Column("n", "int", auto=True), ["auto", 8, None], [None, 8, None], "int"),
        (Column("x", "float"), [1, None, 0.5], [1.0, None, 0.5], "float"),
        (Column("x", "float"), ["auto", 1], ["auto", 1], None),
        (Column("t", "text"), ["low", 1, None], ["low", 1, None], "text"),
        (Column("t", "text"), [1, 2], [1, 2], "text"),
        (Column("t", "text"), [1, None], [1.0, None], "text"),  # as pandas typed it: floats
        (Column("t", "text"), [True, None], [True, None], "text"),
    ],
)
def test_typed(column: Column, values: list[Any], expected: list[Any], kind: str | None) -> None:
    found, found_kind = typed(column, values)
    assert (found, found_kind) == (expected, kind)
    assert [type(v) for v in found] == [type(v) for v in expected]


def test_a_sweep_with_prune_has_columns_for_where_pruned_trials_stopped() -> None:
    from ftsweep.study.records import Pruned, State, TrialRecord
    from ftsweep.study.table import records_of

    sweep = loads_sweep(sweep_text(extra="prune: {rule: halving}\n"))
    names = [c.name for c in table_columns(sweep)]
    after_costs = names[names.index("actual_cost") + 1 : names.index("error")]
    assert after_costs == ["pruned_step", "pruned_value", "saved_tokens", "saved_cost"]
    kinds = {c.name: c.kind for c in table_columns(sweep)}
    assert [kinds[n] for n in after_costs] == ["int", "float", "int", "float"]
    assert "pruned_step" not in [c.name for c in table_columns(loads_sweep(sweep_text()))]
    stopped = Pruned(step=40, progress=320, value=1.25, saved_tokens=900, saved_cost=0.0045)
    params = {"n_epochs": 1, "batch_size": 8}
    trials = [
        TrialRecord(0, "s-0000", params, State.PRUNED, pruned=stopped),
        TrialRecord(1, "s-0001", params, State.RUNNING, pruned=stopped),  # its cancel pending
        TrialRecord(2, "s-0002", params, State.COMPLETE, (0.5,), pruned=stopped),  # done first
    ]
    rows = records_of(sweep, trials)
    facts = [tuple(r[n] for n in after_costs) for r in rows]
    assert facts == [(40, 1.25, 900, 0.0045), (None,) * 4, (None,) * 4]

"""The exception tree's Problem, as the library builds and the CLI renders it."""

from __future__ import annotations

import pickle

from ftsweep.errors import Problem


def test_a_problem_renders_file_line_path_rule_and_value() -> None:
    problem = Problem(("messages", 2, "weight"), "must be 0 or 1", 2, line=7)
    assert (
        problem.render("train.jsonl") == "train.jsonl:7: messages[2].weight: must be 0 or 1 (got 2)"
    )


def test_a_problem_survives_pickling_with_or_without_a_value() -> None:
    """The row checks run in worker processes and send their problems back."""
    bare, valued = Problem(("a",), "is bad", line=3), Problem(("b",), "is bad", None, line=4)
    assert pickle.loads(pickle.dumps(bare)).render("f") == "f:3: a: is bad"
    assert pickle.loads(pickle.dumps(valued)).render("f") == "f:4: b: is bad (got None)"

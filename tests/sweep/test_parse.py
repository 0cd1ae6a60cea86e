"""Parsing `space` (and `zip`) into a Space, every problem collected with its path and value."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ftsweep.errors import Problem
from ftsweep.sweep.dimensions import Categorical, FloatRange, IntRange
from ftsweep.sweep.parse import parse_space
from ftsweep.sweep.space import Space


def parsed(raw: Any, method: str | None = "dpo", zips: Any = None) -> Space:
    space, problems = parse_space(raw, method, zips, model_fixed=True)
    assert problems == [] and space is not None
    return space


def refused(raw: Any, method: str | None = "dpo", zips: Any = None, **kw: Any) -> list[Problem]:
    space, problems = parse_space(raw, method, zips, model_fixed=kw.get("model_fixed", True))
    assert space is None and problems
    return problems


def test_forms_of_a_dimension() -> None:
    space = parsed(
        {
            "batch_size": "auto",
            "n_epochs": [1, 2, "auto"],
            "beta": {"low": 0.1, "high": 2},
            "learning_rate_multiplier": {"low": 0.5, "high": 2, "num": 3, "auto": True},
        }
    )
    dims = space.subspaces[0].dimensions
    assert dims["batch_size"] == Categorical("batch_size", ("auto",))
    assert dims["n_epochs"] == Categorical("n_epochs", (1, 2, "auto"))
    assert dims["beta"] == FloatRange("beta", 0.1, 2)
    assert dims["learning_rate_multiplier"] == FloatRange(
        "learning_rate_multiplier", 0.5, 2, num=3, auto=True
    )
    assert space.names == ("batch_size", "n_epochs", "beta", "learning_rate_multiplier")


def test_the_hyperparameter_decides_int_or_float() -> None:
    dims = parsed({"batch_size": {"low": 1, "high": 8}, "beta": {"low": 1, "high": 2}})
    assert isinstance(dims.subspaces[0].dimensions["batch_size"], IntRange)
    assert isinstance(dims.subspaces[0].dimensions["beta"], FloatRange)


def test_float_choices_become_floats_and_ints_stay_ints() -> None:
    dims = parsed({"learning_rate_multiplier": [1, 2.5, "auto"], "n_epochs": [3]})
    lr = dims.subspaces[0].dimensions["learning_rate_multiplier"]
    assert isinstance(lr, Categorical)
    assert lr.values == (1.0, 2.5, "auto") and type(lr.values[0]) is float
    n_epochs = dims.subspaces[0].dimensions["n_epochs"]
    assert isinstance(n_epochs, Categorical) and type(n_epochs.values[0]) is int


def test_union() -> None:
    space = parsed([{"n_epochs": [1, 2]}, {"batch_size": [4, 8, 16]}])
    assert len(space.subspaces) == 2 and space.size == 5
    assert space.names == ("n_epochs", "batch_size")


def test_zip_in_a_subspace_and_at_the_top() -> None:
    inner = parsed({"n_epochs": [1, 2], "beta": [0.1, 0.2], "zip": [["n_epochs", "beta"]]})
    top = parsed({"n_epochs": [1, 2], "beta": [0.1, 0.2]}, zips=[["n_epochs", "beta"]])
    assert inner == top
    assert [a.names for a in inner.subspaces[0].axes] == [("n_epochs", "beta")]


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (None, "space", "must be a mapping of dimensions, or a non-empty list of such mappings"),
        ([], "space", "must be a mapping of dimensions"),
        ([{"n_epochs": 1}, 3], "space", "must be a mapping of dimensions"),
        ({}, "space", "a space needs at least one dimension"),
        ({"zip": []}, "space", "a space needs at least one dimension"),
        ([{"n_epochs": 1}, {}], "space[1]", "a space needs at least one dimension"),
        (
            {"momentum": 0.9},
            "space.momentum",
            "unknown dimension; dimensions are: batch_size, beta",
        ),
        ({"n_epochs": []}, "space.n_epochs", "a list of choices must not be empty"),
        ({"n_epochs": [1, 1]}, "space.n_epochs", "choices must be distinct"),
        ({"n_epochs": [1, 2.5]}, "space.n_epochs[1]", "2.5 is not an integer"),
        ({"n_epochs": True}, "space.n_epochs", "must be an integer from 1 to 50, or 'auto'"),
        ({"n_epochs": "3"}, "space.n_epochs", "must be an integer from 1 to 50, or 'auto'"),
        ({"beta": {"low": 0.1}}, "space.beta.high", "a range needs low and high"),
        ({"beta": {"low": 0.1, "high": 1, "lg": True}}, "space.beta.lg", "unknown key in a range"),
        (
            {"beta": {"low": 0.1, "high": 1, "log": "yes"}},
            "space.beta.log",
            "must be true or false",
        ),
        ({"beta": {"low": 0.1, "high": 1, "auto": 1}}, "space.beta.auto", "must be true or false"),
        ({"beta": {"low": 0.1, "high": 1, "num": 2.0}}, "space.beta.num", "must be an integer"),
        ({"beta": {"low": 0.1, "high": 1, "step": "x"}}, "space.beta.step", "a finite number"),
        ({"n_epochs": {"low": 1, "high": 5, "step": 1.5}}, "space.n_epochs.step", "an integer"),
        ({"n_epochs": {"low": 1, "high": 5.0}}, "space.n_epochs.high", "5.0 is not an integer"),
        (
            {"n_epochs": {"low": "auto", "high": 5}},
            "space.n_epochs.low",
            "an integer from 1 to 50$",
        ),
        ({"beta": {"low": 0.1, "high": 1, "step": 0}}, "space.beta.step", "step must be > 0"),
        ({"beta": {"low": 0.5, "high": 0.1}}, "space.beta.low", r"low <= high must hold"),
    ],
)
def test_problems(raw: Any, path: str, message: str) -> None:
    problems = refused(raw)
    assert [p.path for p in problems] == [path]
    assert re.search(message, problems[0].message), problems[0].message


def test_reasoning_effort_cannot_be_a_range() -> None:
    (problem,) = refused({"reasoning_effort": {"low": 1, "high": 2}}, method="reinforcement")
    assert problem.path == "space.reasoning_effort"
    assert problem.message == (
        "cannot be a range: it must be one of 'default', 'low', 'medium', 'high'"
    )


def test_method_none_skips_the_method_check() -> None:
    assert parsed({"beta": 0.5}, method=None).names == ("beta",)
    (problem,) = refused({"beta": 0.5}, method="supervised")
    assert problem.message.startswith("is not a hyperparameter of the supervised method")


def test_every_problem_of_a_space_is_listed() -> None:
    problems = refused(
        [
            {"n_epochs": [], "beta": {"low": 3, "high": 1}, "momentum": 1},
            {"batch_size": 0, "zip": [["batch_size"]]},
        ]
    )
    assert [p.path for p in problems] == [
        "space[0].n_epochs",
        "space[0].beta.low",
        "space[0].momentum",
        "space[1].batch_size",
        "space[1].zip[0]",
    ]


@pytest.mark.parametrize(
    ("zips", "path", "message"),
    [
        ("n_epochs", "zip", "must be a list of groups, each a list of dimension names"),
        (
            [["n_epochs", ["beta"]]],
            "zip",
            "must be a list of groups, each a list of dimension names",
        ),
        ([["n_epochs", 3]], "zip", "must be a list of groups, each a list of dimension names"),
        ([["n_epochs"]], "zip[0]", "a zip group needs at least two dimension names"),
        ([["n_epochs", "eta"]], "zip[0]", "names no dimension of this space: eta"),
        ([["n_epochs", "n_epochs"]], "zip[0]", "a dimension can be in only one zip group, once"),
        (
            [["n_epochs", "beta"], ["beta", "batch_size"]],
            "zip[1]",
            "a dimension can be in only one zip group, once",
        ),
    ],
)
def test_zip_problems(zips: Any, path: str, message: str) -> None:
    raw = {"n_epochs": [1, 2], "beta": [0.1, 0.2], "batch_size": [4, 8]}
    (problem,) = refused(raw, zips=zips)
    assert problem.path == path and problem.message == message
    assert problem.value == (zips if path == "zip" else zips[int(path[-2])])


def test_unequal_zip_in_a_subspace() -> None:
    raw = {"n_epochs": [1, 2, 3], "beta": [0.1, 0.2], "zip": [["n_epochs", "beta"]]}
    (problem,) = refused(raw)
    assert problem.path == "space.zip[0]"
    assert problem.message == (
        "zipped dimensions must be finite and equally long (n_epochs: 3, beta: 2)"
    )
    assert problem.value == ["n_epochs", "beta"]


def test_unequal_zip_at_the_top_is_blamed_on_the_top_zip() -> None:
    raw = {"n_epochs": [1, 2, 3], "beta": [0.1, 0.2]}
    (problem,) = refused(raw, zips=[["n_epochs", "beta"]])
    assert problem.path == "zip[0]"
    assert problem.value == ["n_epochs", "beta"]
    union = [{"n_epochs": [1, 2], "beta": [0.1, 0.2]}, {"n_epochs": [1], "beta": [0.1, 0.2]}]
    (problem,) = refused(union, zips=[["n_epochs", "beta"]])
    assert problem.path == "zip[0]"
    assert "(n_epochs: 1, beta: 2)" in problem.message


def test_a_dimension_zipped_in_the_subspace_cannot_be_zipped_again_at_the_top() -> None:
    raw = {
        "n_epochs": [1, 2],
        "beta": [0.1, 0.2],
        "batch_size": [4, 8],
        "zip": [["n_epochs", "beta"]],
    }
    (problem,) = refused(raw, zips=[["beta", "batch_size"]])
    assert problem.path == "zip[0]"
    assert problem.message == "a dimension can be in only one zip group, once"


def test_zip_with_an_infinite_dimension() -> None:
    raw = {"n_epochs": [1, 2], "beta": {"low": 0.1, "high": 1}}
    (problem,) = refused(raw, zips=[["n_epochs", "beta"]])
    assert problem.path == "zip[0]"
    assert "(n_epochs: 2, beta: infinite)" in problem.message


@pytest.mark.parametrize("raw", [{"model": ""}, {"model": []}, {"model": ["a", 3]}])
def test_bad_model_dimension(raw: Any) -> None:
    (problem,) = refused(raw)
    assert problem.path == "space.model"
    assert problem.message == "a model is a non-empty name, or a list of names"


def test_model_dimension() -> None:
    space = parsed({"model": ["a", "b"], "n_epochs": 2})
    assert space.subspaces[0].dimensions["model"] == Categorical("model", ("a", "b"))


def test_a_model_is_needed_somewhere() -> None:
    (problem,) = refused([{"model": "a"}, {"n_epochs": 1}], model_fixed=False)
    assert problem.path == "space[1]"
    assert problem.message == "no model: give `model` at the top level or as a dimension"
    space, problems = parse_space({"model": "a", "n_epochs": 1}, "dpo", model_fixed=False)
    assert problems == [] and space is not None

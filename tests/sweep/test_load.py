"""Loading a sweep file: every rule of DESIGN.md, each refused with file, path, value and line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import Problem, SweepFileError
from ftsweep.sweep import Sweep, load_sweep, loads_sweep, plan

from .conftest import MODEL, by_path, line_of, problems_of, sweep_yaml

Load = Callable[..., Sweep]
FROM_1_TO_MAX = "from 1 to 2147483647, or 'auto'"


def refused(load: Load, text: str, match: str, suffix: str = ".yaml") -> tuple[Problem, ...]:
    with pytest.raises(SweepFileError, match=match) as exc:
        load(text, suffix)
    return exc.value.problems


def test_a_valid_file_loads(load: Load, write_sweep: Callable[..., Path]) -> None:
    text = sweep_yaml(
        "dpo",
        "  beta: {low: 0.02, high: 2.0, log: true}\n  batch_size: [auto, 4, 8]\n",
        "max_trials: 12\nseed: 7\nobjective: {metric: full_valid_loss, reduce: min}\n",
    )
    sweep = load(text)
    assert sweep.name == "t" and sweep.method == "dpo"
    assert sweep.file == str(write_sweep(text))
    assert sweep.strategy == "tpe"
    assert sweep.plan_size == 12
    assert sweep.spec.model == MODEL and sweep.spec.seed == 7
    (objective,) = sweep.objectives
    assert (objective.metric, objective.direction, objective.reduce) == (
        "full_valid_loss",
        "minimize",
        "min",
    )


def test_errors_name_the_file(load: Load, write_sweep: Callable[..., Path]) -> None:
    text = sweep_yaml(space="  n_epochs: 0\n")
    path = write_sweep(text)
    with pytest.raises(SweepFileError) as exc:
        load(text)
    assert exc.value.file == str(path)
    assert str(exc.value) == (
        f"{path}: 1 problem\n"
        f"{path}:6:3: space.n_epochs: must be an integer from 1 to 50, or 'auto' (got 0)"
    )


# --- unknown keys ----------------------------------------------------------------------------


def test_unknown_key_at_the_top_level(load: Load) -> None:
    text = sweep_yaml(rest="stratgy: grid\n")
    (problem,) = refused(load, text, r"stratgy: unknown key \(did you mean 'strategy'\?\)")
    assert problem.path == "stratgy"
    assert problem.line == line_of(text, "stratgy") and problem.column == 1


def test_unknown_key_in_job(load: Load) -> None:
    text = sweep_yaml(rest="job:\n  seed: 1\n  sufix: x\n")
    (problem,) = refused(load, text, r"job\.sufix: unknown key \(did you mean 'suffix'\?\)")
    assert problem.path == "job.sufix" and problem.line == line_of(text, "sufix")


def test_unknown_key_in_objective(load: Load) -> None:
    text = sweep_yaml(rest="objective:\n  metric: full_valid_loss\n  reduc: min\n")
    (problem,) = refused(load, text, r"objective\.reduc: unknown key \(did you mean 'reduce'\?\)")
    assert problem.path == "objective.reduc" and problem.line == line_of(text, "reduc")


def test_unknown_key_in_a_list_of_objectives(load: Load) -> None:
    text = sweep_yaml(
        rest="objective:\n  - metric: full_valid_loss\n  - {metric: train_loss, dir: up}\n"
    )
    (problem,) = refused(load, text, r"objective\[1\]\.dir: unknown key")
    assert problem.path == "objective[1].dir" and problem.line == line_of(text, "dir: up")


def test_unknown_key_in_a_range(load: Load) -> None:
    text = sweep_yaml("dpo", "  beta: {low: 0.1, high: 2, steps: 0.1}\n")
    (problem,) = refused(
        load,
        text,
        r"space\.beta\.steps: unknown key in a range \(allowed: low, high, log, step, num, auto\)",
    )
    assert problem.path == "space.beta.steps" and problem.value == "steps"
    assert problem.line == line_of(text, "steps")
    assert problem.column == text.splitlines()[problem.line - 1].index("steps") + 1


def test_unknown_key_in_a_grader(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement",
        grader=False,
        rest=(
            "grader:\n  type: string_check\n  name: g\n  input: x\n  reference: y\n"
            "  operation: eq\n  weight: 2\n"
        ),
    )
    (problem,) = refused(load, text, r"grader\.weight: unknown key")
    assert problem.path == "grader.weight" and problem.line == line_of(text, "weight")


def test_unknown_key_in_a_grader_inside_multi(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement",
        grader=False,
        rest=(
            "grader:\n  type: multi\n  name: g\n  calculate_output: a\n  graders:\n"
            "    a: {type: string_check, name: a, input: x, reference: y, operation: eq,"
            " extra: 1}\n"
        ),
    )
    (problem,) = refused(load, text, r"grader\.graders\.a\.extra: unknown key")
    assert problem.path == "grader.graders.a.extra" and problem.line == line_of(text, "extra")


def test_unknown_key_in_integrations(load: Load) -> None:
    text = sweep_yaml(
        rest="job:\n  integrations:\n    - {type: wandb, wandb: {project: p, team: x}}\n"
    )
    (problem,) = refused(load, text, r"job\.integrations\[0\]\.wandb\.team: unknown key")
    assert problem.line == line_of(text, "team")


def test_unknown_dimension(load: Load) -> None:
    text = sweep_yaml(space="  momentum: 0.9\n")
    (problem,) = refused(
        load, text, r"space\.momentum: unknown dimension; dimensions are: batch_size, "
    )
    assert problem.value == "momentum" and problem.line == line_of(text, "momentum")


# --- hyperparameters -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["supervised", "reinforcement"])
def test_beta_only_under_dpo(load: Load, method: str) -> None:
    text = sweep_yaml(method, "  n_epochs: 2\n  beta: 0.1\n")
    has = {
        "supervised": "batch_size, learning_rate_multiplier, n_epochs",
        "reinforcement": "batch_size, compute_multiplier, eval_interval, eval_samples, "
        "learning_rate_multiplier, n_epochs, reasoning_effort",
    }[method]
    (problem,) = refused(
        load,
        text,
        rf"space\.beta: is not a hyperparameter of the {method} method \(it has: {has}\)",
    )
    assert problem.path == "space.beta" and problem.value == "beta"
    assert problem.line == line_of(text, "beta")


@pytest.mark.parametrize(
    ("name", "method", "value"),
    [
        ("compute_multiplier", "dpo", "1.0"),
        ("eval_interval", "supervised", "5"),
        ("eval_samples", "dpo", "5"),
        ("reasoning_effort", "supervised", "low"),
    ],
)
def test_other_methods_hyperparameters_refused(
    load: Load, name: str, method: str, value: str
) -> None:
    text = sweep_yaml(method, f"  {name}: {value}\n")
    (problem,) = refused(
        load, text, rf"space\.{name}: is not a hyperparameter of the {method} method"
    )
    assert problem.path == f"space.{name}"


RANGE_CASES = [
    # name, method, written, path suffix, value, rule
    ("n_epochs", "supervised", "0", "", 0, "must be an integer from 1 to 50, or 'auto'"),
    ("n_epochs", "supervised", "51", "", 51, "must be an integer from 1 to 50, or 'auto'"),
    ("n_epochs", "dpo", "[2, 51]", "[1]", 51, "must be an integer from 1 to 50, or 'auto'"),
    (
        "n_epochs",
        "dpo",
        "{low: 1, high: 60}",
        ".high",
        60,
        "must be an integer from 1 to 50 \\(got",
    ),
    ("batch_size", "supervised", "0", "", 0, "must be an integer from 1 to 256, or 'auto'"),
    ("batch_size", "dpo", "257", "", 257, "must be an integer from 1 to 256, or 'auto'"),
    (
        "batch_size",
        "supervised",
        "{low: 0, high: 8}",
        ".low",
        0,
        "must be an integer from 1 to 256 \\(got",
    ),
    ("learning_rate_multiplier", "supervised", "0", "", 0, "must be a number > 0, or 'auto'"),
    ("learning_rate_multiplier", "dpo", "-0.5", "", -0.5, "must be a number > 0, or 'auto'"),
    (
        "learning_rate_multiplier",
        "dpo",
        "{low: 0, high: 2}",
        ".low",
        0,
        "must be a number > 0 \\(got",
    ),
    ("learning_rate_multiplier", "dpo", ".inf", "", float("inf"), "must be a number > 0"),
    ("beta", "dpo", "0", "", 0, "must be a number with 0 < x <= 2, or 'auto'"),
    ("beta", "dpo", "2.5", "", 2.5, "must be a number with 0 < x <= 2, or 'auto'"),
    (
        "beta",
        "dpo",
        "{low: 0.1, high: 2.01}",
        ".high",
        2.01,
        "must be a number with 0 < x <= 2 \\(got",
    ),
    (
        "compute_multiplier",
        "reinforcement",
        "0.00001",
        "",
        0.00001,
        "must be a number with 1e-05 < x <= 10, or 'auto'",
    ),
    (
        "compute_multiplier",
        "reinforcement",
        "10.5",
        "",
        10.5,
        "must be a number with 1e-05 < x <= 10, or 'auto'",
    ),
    ("eval_interval", "reinforcement", "0", "", 0, f"must be an integer {FROM_1_TO_MAX}"),
    ("eval_samples", "reinforcement", "0", "", 0, f"must be an integer {FROM_1_TO_MAX}"),
    (
        "eval_samples",
        "reinforcement",
        "[auto, -3]",
        "[1]",
        -3,
        f"must be an integer {FROM_1_TO_MAX}",
    ),
    (
        "reasoning_effort",
        "reinforcement",
        "auto",
        "",
        "auto",
        "must be one of 'default', 'low', 'medium', 'high' \\(got 'auto'\\)",
    ),
    (
        "reasoning_effort",
        "reinforcement",
        "[low, auto]",
        "[1]",
        "auto",
        "must be one of 'default', ",
    ),
    (
        "reasoning_effort",
        "reinforcement",
        "3",
        "",
        3,
        "must be one of 'default', 'low', 'medium', 'high'",
    ),
    ("reasoning_effort", "reinforcement", "extreme", "", "extreme", "must be one of 'default', "),
]


@pytest.mark.parametrize(("name", "method", "written", "sub", "value", "rule"), RANGE_CASES)
def test_values_outside_the_api_range(
    load: Load, name: str, method: str, written: str, sub: str, value: object, rule: str
) -> None:
    text = sweep_yaml(method, f"  {name}: {written}\n")
    path = f"space.{name}{sub}"
    escaped = path.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")
    (problem,) = refused(load, text, f"{escaped}: {rule}")
    assert problem.path == path and problem.value == value
    assert problem.line == line_of(text, f"  {name}:")


@pytest.mark.parametrize(
    ("name", "method", "written"),
    [
        ("n_epochs", "dpo", "[1, 50]"),
        ("batch_size", "dpo", "{low: 1, high: 256}"),
        ("learning_rate_multiplier", "dpo", "1e-9"),
        ("learning_rate_multiplier", "dpo", "1000"),
        ("beta", "dpo", "2"),
        ("beta", "dpo", "{low: 0.0001, high: 2}"),
        ("compute_multiplier", "reinforcement", "[0.00002, 10]"),
        ("eval_interval", "reinforcement", "100000"),
        ("eval_samples", "reinforcement", "{low: 1, high: 1000, log: true}"),
        ("reasoning_effort", "reinforcement", "[default, low, medium, high]"),
    ],
)
def test_values_at_the_edges_of_the_api_range(
    load: Load, name: str, method: str, written: str
) -> None:
    assert name in load(sweep_yaml(method, f"  {name}: {written}\n")).space.names


@pytest.mark.parametrize(
    ("written", "sub", "value"),
    [("2.0", "", 2.0), ("[1, 3.0]", "[1]", 3.0), ("{low: 1.0, high: 5}", ".low", 1.0)],
)
def test_ints_stay_ints(load: Load, written: str, sub: str, value: float) -> None:
    text = sweep_yaml(space=f"  n_epochs: {written}\n")
    escaped = f"space.n_epochs{sub}".replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")
    (problem,) = refused(
        load,
        text,
        f"{escaped}: must be an integer from 1 to 50(, or 'auto')?; {value!r} is not an integer",
    )
    assert problem.value == value and type(problem.value) is float


def test_integer_step_for_an_int_range(load: Load) -> None:
    text = sweep_yaml(space="  batch_size: {low: 1, high: 9, step: 2.0}\n")
    (problem,) = refused(load, text, r"space\.batch_size\.step: must be an integer \(got 2\.0\)")
    assert problem.path == "space.batch_size.step" and problem.value == 2.0


def test_yaml_1e_5_is_a_number(load: Load) -> None:
    sweep = load(sweep_yaml(space="  learning_rate_multiplier: [1e-5, 2E-3, auto]\n"))
    (trial, *_) = plan(sweep)
    assert trial.params == {"learning_rate_multiplier": 1e-5}
    assert type(trial.params["learning_rate_multiplier"]) is float


# --- ranges and lists ------------------------------------------------------------------------


def test_low_above_high(load: Load) -> None:
    text = sweep_yaml("dpo", "  beta: {low: 1.5, high: 0.5}\n")
    (problem,) = refused(
        load,
        text,
        r"space\.beta\.low: low <= high must hold, but got \(low=1\.5, high=0\.5\) \(got 1\.5\)",
    )
    assert problem.path == "space.beta.low" and problem.value == 1.5
    assert problem.line == line_of(text, "beta")


def test_log_with_low_at_zero(load: Load) -> None:
    text = sweep_yaml("dpo", "  learning_rate_multiplier: {low: 0, high: 1, log: true}\n")
    (problem,) = refused(
        load, text, r"space\.learning_rate_multiplier\.low: must be a number > 0 \(got 0\)"
    )
    assert problem.path == "space.learning_rate_multiplier.low" and problem.value == 0


def test_empty_list(load: Load) -> None:
    text = sweep_yaml(space="  n_epochs: [2]\n  batch_size: []\n")
    (problem,) = refused(
        load, text, r"space\.batch_size: a list of choices must not be empty \(got \[\]\)"
    )
    assert problem.path == "space.batch_size" and problem.value == []
    assert problem.line == line_of(text, "batch_size")


def test_step_and_num(load: Load) -> None:
    text = sweep_yaml("dpo", "  beta: {low: 0.1, high: 1, step: 0.1, num: 3}\n")
    (problem,) = refused(load, text, r"space\.beta\.step: give step or num, not both \(got 0\.1\)")
    assert problem.value == 0.1


def test_grid_over_an_infinite_dimension(load: Load) -> None:
    text = sweep_yaml(
        "dpo", "  n_epochs: [1, 2]\n  beta: {low: 0.1, high: 2}\n", "strategy: grid\n"
    )
    (problem,) = refused(
        load, text, r"space\.beta: a grid needs finite dimensions: give this range num or step"
    )
    assert problem.path == "space.beta" and problem.line == line_of(text, "beta")


def test_grid_over_an_infinite_dimension_of_a_union(load: Load) -> None:
    text = sweep_yaml(
        "dpo",
        "  - n_epochs: [1, 2]\n  - beta: {low: 0.1, high: 2}\n    batch_size: {low: 1, high: 8}\n",
        "strategy: grid\n",
    )
    (problem,) = refused(load, text, r"space\[1\]\.beta: a grid needs finite dimensions")
    assert problem.path == "space[1].beta" and problem.line == line_of(text, "beta")


def test_overlapping_sub_spaces_are_refused_at_the_later_one(load: Load) -> None:
    text = sweep_yaml(space="  - n_epochs: [1, 2]\n  - n_epochs: [1, 2]\n")
    (problem,) = refused(load, text, r"1 problem")
    assert problem.render() == (
        f":{line_of(text, 'n_epochs', line_of(text, 'n_epochs') + 1)}:5: space[1]: overlaps"
        " space[0]: both hold n_epochs=1, which would run twice; the sub-spaces of a union must"
        " not share a configuration"
    )


def test_sub_spaces_that_overlap_only_in_a_continuous_range_are_refused(load: Load) -> None:
    text = sweep_yaml(
        "dpo",
        "  - {beta: {low: 0.1, high: 1.0}, n_epochs: [1, 2]}\n"
        "  - {beta: {low: 0.5, high: 2.0}, n_epochs: {low: 2, high: 4}}\n"
        "  - {beta: {low: 1.5, high: 2.0}, n_epochs: 1}\n",
        "max_trials: 10\n",
    )
    (problem,) = refused(
        load, text, r"space\[1\]: overlaps space\[0\]: both hold beta=0.5, n_epochs=2"
    )
    assert problem.line == line_of(text, "low: 0.5")


def test_disjoint_sub_spaces_plan_each_configuration_once(load: Load) -> None:
    text = sweep_yaml(
        space="  - {n_epochs: [1, 2], batch_size: [auto, 4]}\n"
        "  - {n_epochs: [1, 2], batch_size: [8, 16]}\n"
        "  - {n_epochs: [3], batch_size: {low: 1, high: 16}}\n",
        rest="strategy: grid\n",
    )
    sweep = load(text)
    trials = [t.params for t in plan(sweep)]
    assert sweep.space.size == len(trials) == 24
    assert len({tuple(sorted(p.items(), key=str)) for p in trials}) == 24


def test_a_finite_float_range_makes_a_grid(load: Load) -> None:
    text = sweep_yaml("dpo", "  beta: {low: 0.1, high: 0.5, step: 0.1}\n", "strategy: grid\n")
    sweep = load(text)
    assert [t.params["beta"] for t in plan(sweep)] == [0.1, 0.2, 0.3, 0.4, 0.5]


# --- graders ---------------------------------------------------------------------------------


def test_reinforcement_needs_a_grader(load: Load) -> None:
    text = sweep_yaml("reinforcement", grader=False)
    (problem,) = refused(load, text, r"grader: the reinforcement method needs a grader")
    assert problem.path == "grader"


def test_reinforcement_needs_a_validation_file(load: Load) -> None:
    text = sweep_yaml("reinforcement", validation_file=False)
    (problem,) = refused(
        load, text, r"validation_file: the reinforcement method needs a validation file"
    )
    assert problem.path == "validation_file"


@pytest.mark.parametrize("method", ["supervised", "dpo"])
def test_grader_misplaced(load: Load, method: str) -> None:
    grader = "grader: {type: string_check, name: g, input: x, reference: y, operation: eq}\n"
    text = sweep_yaml(method, rest=grader)
    (problem,) = refused(
        load, text, rf"grader: only the reinforcement method takes a grader, not {method}"
    )
    assert problem.path == "grader" and problem.line == line_of(text, "grader:")


def test_response_format_misplaced(load: Load) -> None:
    text = sweep_yaml(
        "dpo", rest="response_format:\n  type: json_schema\n  json_schema: {name: a, schema: {}}\n"
    )
    (problem,) = refused(
        load,
        text,
        r"response_format: only the reinforcement method takes a response_format, not dpo",
    )
    assert problem.path == "response_format" and problem.line == line_of(text, "response_format")


def test_grader_with_a_bad_operation(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement",
        grader=False,
        rest=(
            "grader:\n  type: string_check\n  name: g\n  input: x\n  reference: y\n"
            "  operation: equals\n"
        ),
    )
    (problem,) = refused(
        load,
        text,
        r"grader\.operation: Input should be 'eq', 'ne', 'like' or 'ilike' \(got 'equals'\)",
    )
    assert problem.path == "grader.operation" and problem.value == "equals"
    assert problem.line == line_of(text, "operation")


def test_label_model_at_the_top_level(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement",
        grader=False,
        rest=(
            "grader:\n  type: label_model\n  name: tone\n  model: gpt-4.1\n"
            "  input: [{role: user, content: x}]\n  labels: [a, b]\n  passing_labels: [a]\n"
        ),
    )
    (problem,) = refused(
        load,
        text,
        r"grader: a label_model grader can only be used inside a multi grader, "
        r"not as the reinforcement grader",
    )
    assert problem.path == "grader" and problem.line == line_of(text, "grader:")
    assert isinstance(problem.value, dict) and problem.value["type"] == "label_model"


def test_nested_multi_grader(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement",
        grader=False,
        rest=(
            "grader:\n  type: multi\n  name: outer\n  calculate_output: inner\n  graders:\n"
            "    inner: {type: multi, name: inner, calculate_output: a, graders: {}}\n"
        ),
    )
    (problem,) = refused(
        load,
        text,
        r"grader\.graders: a multi grader cannot contain another multi grader \('inner'\)",
    )
    assert problem.path == "grader.graders" and problem.line == line_of(text, "graders:")


def test_grader_template_outside_item_and_sample(load: Load) -> None:
    text = sweep_yaml(
        "reinforcement",
        grader=False,
        rest=(
            "grader:\n  type: string_check\n  name: g\n  input: '{{ output.text }}'\n"
            "  reference: y\n  operation: eq\n"
        ),
    )
    (problem,) = refused(
        load,
        text,
        r"grader\.input: template '\{\{ output\.text \}\}' uses 'output'; "
        r"only item and sample exist",
    )
    assert problem.value == "{{ output.text }}"


# --- names, fields, files --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bad name!", "-lead", "a" * 65, "'x/y'", "''"])
def test_bad_sweep_name(load: Load, name: str) -> None:
    text = sweep_yaml(name=name)
    (problem,) = refused(
        load,
        text,
        r"name: a sweep name is 1 to 64 letters, digits, '\.', '_' or '-', "
        r"starting with a letter or digit",
    )
    assert problem.path == "name" and problem.line == 1
    assert problem.value == name.strip("'")


@pytest.mark.parametrize("name", ["a" * 64, "x.y_z-1", "7"])
def test_good_sweep_names(load: Load, name: str) -> None:
    assert load(sweep_yaml(name=f"'{name}'")).name == name


def test_sweep_name_must_be_a_string(load: Load) -> None:
    (problem,) = refused(
        load, sweep_yaml(name="7"), r"name: Input should be a valid string \(got 7\)"
    )
    assert problem.path == "name"


def test_required_fields(load: Load) -> None:
    problems = refused(load, "seed: 1\n", r"4 problems")
    assert [(p.path, p.message) for p in problems] == [
        ("name", "is required"),
        ("method", "is required"),
        ("training_file", "is required"),
        ("space", "is required"),
    ]


def test_no_model_anywhere(load: Load) -> None:
    text = sweep_yaml().replace(f"model: {MODEL}\n", "")
    (problem,) = refused(
        load, text, r"space: no model: give `model` at the top level or as a dimension"
    )
    assert problem.path == "space"


def test_model_as_a_dimension(load: Load) -> None:
    text = sweep_yaml(space="  model: [gpt-a, gpt-b]\n  n_epochs: [1, 2]\n").replace(
        f"model: {MODEL}\n", ""
    )
    sweep = load(text)
    assert sweep.space.size == 4
    assert [b["model"] for b in plan(sweep).bodies()] == ["gpt-a", "gpt-a", "gpt-b", "gpt-b"]


def test_not_a_mapping(load: Load) -> None:
    refused(
        load,
        "- 1\n- 2\n",
        r"\(top level\): a sweep file must be a mapping of fields \(got \[1, 2\]\)",
    )
    refused(load, "", r"\(top level\): a sweep file must be a mapping of fields \(got None\)")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(
        SweepFileError, match=rf"^{path}: 1 problem\n{path}: \(top level\): no such file$"
    ):
        load_sweep(path)


def test_unknown_suffix(load: Load) -> None:
    with pytest.raises(
        SweepFileError,
        match=r"a sweep file must end in \.yaml, \.yml, \.toml or \.json \(got '\.txt'\)",
    ):
        load(sweep_yaml(), ".txt")


@pytest.mark.parametrize(
    ("suffix", "text", "where", "message"),
    [
        (".yaml", "name: t\nmethod: [dpo\n", r":3:1", "YAML syntax: "),
        (".yml", "name: t\n\tmethod: dpo\n", r":2:1", "YAML syntax: "),
        (".toml", 'name = "t"\nmethod = \n', r":2:10", "TOML syntax: "),
        (".json", '{"name": "t",\n  "method": "dpo",\n}\n', r":3:1", "JSON syntax: "),
    ],
)
def test_syntax_errors_name_line_and_column(
    write_sweep: Callable[..., Path], suffix: str, text: str, where: str, message: str
) -> None:
    path = write_sweep(text, suffix)
    with pytest.raises(SweepFileError, match=rf"{path}{where}: \(top level\): {message}") as exc:
        load_sweep(path)
    (problem,) = exc.value.problems
    assert problem.line == int(where.split(":")[1])


# --- every problem at once -------------------------------------------------------------------

MANY = """\
name: bad name!
method: reinforcement
model: gpt-4.1-mini-2025-04-14
training_file: file-train
stratgy: grid
space:
  n_epochs: 2.0
  beta: 0.1
  batch_size: {low: 8, high: 4}
  compute_multiplier: {low: 0.1, high: 20}
  reasoning_effort: auto
  eval_samples: []
  learning_rate_multiplier: {low: 0.1, high: 2, step: 0.1, foo: 1}
objective: {metric: valid_reward_mean, reduce: mean}
job: {seed: -1, suffix: ""}
"""


def test_every_problem_is_reported_at_once(load: Load) -> None:
    problems = refused(load, MANY, r"^.*: 14 problems\n")
    assert [(p.path, p.line) for p in problems] == [
        ("grader", None),
        ("validation_file", None),
        ("name", 1),
        ("stratgy", 5),
        ("space.n_epochs", 7),
        ("space.beta", 8),
        ("space.batch_size.low", 9),
        ("space.compute_multiplier.high", 10),
        ("space.reasoning_effort", 11),
        ("space.eval_samples", 12),
        ("space.learning_rate_multiplier.foo", 13),
        ("objective.reduce", 14),
        ("job.seed", 15),
        ("job.suffix", 15),
    ]


def test_problems_of_the_spec_and_of_the_checks_come_together(load: Load) -> None:
    """A misplaced grader and a grid over a continuous range are found even next to a bad name."""
    text = sweep_yaml(
        "dpo",
        "  beta: {low: 0.1, high: 2}\n",
        "strategy: grid\n"
        "grader: {type: string_check, name: g, input: x, reference: y, operation: eq}\n",
        name="'bad name'",
    )
    problems = refused(load, text, r"3 problems")
    assert {p.path for p in problems} == {"name", "space.beta", "grader"}


def test_problems_are_in_line_order(load: Load) -> None:
    text = sweep_yaml("dpo", "  n_epochs: 0\n  batch_size: 0\n", "job: {sede: 1}\nextra: 1\n")
    problems = refused(load, text, r"4 problems")
    lines = [p.line or 0 for p in problems]
    assert lines == sorted(lines) and 0 not in lines


# --- YAML, TOML and JSON ---------------------------------------------------------------------

SAME: dict[str, Any] = {
    "name": "same",
    "method": "dpo",
    "model": MODEL,
    "training_file": "file-train",
    "validation_file": "file-valid",
    "strategy": "random",
    "max_trials": 8,
    "seed": 3,
    "space": [
        {
            "beta": {"low": 0.02, "high": 2.0, "log": True},
            "learning_rate_multiplier": {"low": 0.1, "high": 4.0, "log": True, "auto": True},
            "n_epochs": {"low": 1, "high": 5},
            "batch_size": ["auto", 4, 8, 16],
        },
        {
            "model": ["gpt-a", "gpt-b"],
            "n_epochs": [1, 2],
            "beta": [0.1, 0.2],
            "zip": [["n_epochs", "beta"]],
        },
    ],
    "objective": [{"metric": "full_valid_loss", "direction": "minimize", "reduce": "min"}],
    "job": {"seed": 42, "suffix": "dpo-{trial}", "metadata": {"team": "search", "b": "{beta}"}},
}

SAME_YAML = """\
name: same
method: dpo
model: gpt-4.1-mini-2025-04-14
training_file: file-train
validation_file: file-valid
strategy: random
max_trials: 8
seed: 3
space:
  - beta: {low: 0.02, high: 2.0, log: true}
    learning_rate_multiplier: {low: 0.1, high: 4.0, log: true, auto: true}
    n_epochs: {low: 1, high: 5}
    batch_size: [auto, 4, 8, 16]
  - model: [gpt-a, gpt-b]
    n_epochs: [1, 2]
    beta: [0.1, 0.2]
    zip: [[n_epochs, beta]]
objective:
  - {metric: full_valid_loss, direction: minimize, reduce: min}
job:
  seed: 42
  suffix: "dpo-{trial}"
  metadata: {team: search, b: "{beta}"}
"""

SAME_TOML = """\
name = "same"
method = "dpo"
model = "gpt-4.1-mini-2025-04-14"
training_file = "file-train"
validation_file = "file-valid"
strategy = "random"
max_trials = 8
seed = 3

[[space]]
beta = {low = 0.02, high = 2.0, log = true}
learning_rate_multiplier = {low = 0.1, high = 4.0, log = true, auto = true}
n_epochs = {low = 1, high = 5}
batch_size = ["auto", 4, 8, 16]

[[space]]
model = ["gpt-a", "gpt-b"]
n_epochs = [1, 2]
beta = [0.1, 0.2]
zip = [["n_epochs", "beta"]]

[[objective]]
metric = "full_valid_loss"
direction = "minimize"
reduce = "min"

[job]
seed = 42
suffix = "dpo-{trial}"
metadata = {team = "search", b = "{beta}"}
"""


def test_yaml_toml_and_json_load_to_the_same_plan(load: Load) -> None:
    sweeps = [load(SAME_YAML, ".yaml"), load(SAME_TOML, ".toml"), load(json.dumps(SAME), ".json")]
    specs = {s.spec.model_dump_json() for s in sweeps}
    assert len(specs) == 1
    assert sweeps[0].space == sweeps[1].space == sweeps[2].space
    plans = [[json.dumps(b, sort_keys=True) for b in plan(s).bodies()] for s in sweeps]
    assert len(plans[0]) == 8
    assert plans[0] == plans[1] == plans[2]
    trials = [list(plan(s)) for s in sweeps]
    assert trials[0] == trials[1] == trials[2]


def test_toml_and_json_problems_have_paths_but_no_lines(load: Load) -> None:
    broken = {**SAME, "max_trials": 0, "space": {"beta": 3}}
    problems = refused(load, json.dumps(broken), r"2 problems", ".json")
    assert [(p.path, p.line) for p in problems] == [("max_trials", None), ("space.beta", None)]
    toml = SAME_TOML.replace("max_trials = 8", "max_trials = 0")
    (problem,) = refused(
        load, toml, r"max_trials: must be an integer from 1 to 1000000: .* \(got 0\)", ".toml"
    )
    assert problem.path == "max_trials" and problem.value == 0


# --- the sweep's derived properties ----------------------------------------------------------


def test_strategy_defaults() -> None:
    assert loads_sweep(sweep_yaml(space="  n_epochs: [1, 2]\n")).strategy == "grid"
    assert (
        loads_sweep(sweep_yaml(space="  learning_rate_multiplier: {low: 0.1, high: 2}\n")).strategy
        == "tpe"
    )
    assert loads_sweep(sweep_yaml(rest="strategy: sobol\n")).strategy == "sobol"


def test_max_trials_is_the_smaller_bound() -> None:
    assert loads_sweep(sweep_yaml(space="  n_epochs: {low: 1, high: 10}\n")).plan_size == 10
    assert (
        loads_sweep(
            sweep_yaml(space="  n_epochs: {low: 1, high: 10}\n", rest="max_trials: 4\n")
        ).plan_size
        == 4
    )
    assert (
        loads_sweep(sweep_yaml(space="  n_epochs: [1, 2]\n", rest="max_trials: 40\n")).plan_size
        == 2
    )
    assert (
        loads_sweep(
            sweep_yaml(space="  learning_rate_multiplier: {low: 0.1, high: 2}\n")
        ).plan_size
        is None
    )


@pytest.mark.parametrize(
    ("method", "metric", "direction"),
    [
        ("supervised", "full_valid_loss", "minimize"),
        ("dpo", "full_valid_loss", "minimize"),
        ("reinforcement", "valid_reward_mean", "maximize"),
    ],
)
def test_default_objective(method: str, metric: str, direction: str) -> None:
    (objective,) = loads_sweep(sweep_yaml(method)).objectives
    assert (objective.metric, objective.direction, objective.reduce) == (metric, direction, "last")


def test_objective_direction_is_needed_for_an_unknown_metric() -> None:
    problems = problems_of(sweep_yaml(rest="objective: {metric: my_score}\n"))
    problem = by_path(problems)["objective"]
    assert problem.message.startswith(
        "direction (minimize or maximize) is required for metric 'my_score'"
    )
    sweep = loads_sweep(
        sweep_yaml(
            rest="objective: [{metric: my_score, direction: maximize}, {metric: train_accuracy}]\n"
        )
    )
    assert [(o.metric, o.direction) for o in sweep.objectives] == [
        ("my_score", "maximize"),
        ("train_accuracy", "maximize"),
    ]


def test_a_malformed_calculate_output_is_located_at_its_line() -> None:
    text = (
        "name: s\nmethod: reinforcement\nmodel: o3\ntraining_file: file-t\n"
        "validation_file: file-v\nspace: {n_epochs: [1]}\ngrader:\n  type: multi\n  name: m\n"
        "  calculate_output: '0.7 * total +'\n  graders:\n    total:\n"
        "      {type: string_check, name: total, input: '{{sample.output_text}}',"
        " reference: '{{item.a}}', operation: eq}\n"
    )
    with pytest.raises(SweepFileError) as caught:
        loads_sweep(text, file="s.yaml")
    assert str(caught.value).splitlines()[1:] == [
        "s.yaml:10:3: grader.calculate_output: column 13: expected an operand after '+' "
        "(got '0.7 * total +')"
    ]

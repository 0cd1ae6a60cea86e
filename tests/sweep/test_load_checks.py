"""Rules across a sweep file's fields: placeholders, the validation file, repeated objectives,
and the reinforcement grader's python source and response format, each located."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ftsweep.errors import SweepFileError
from ftsweep.sweep import Sweep

from .conftest import MULTI_GRADER, RESPONSE_FORMAT, line_of, sweep_yaml

Load = Callable[..., Sweep]


def rendered(load: Load, text: str, suffix: str = ".yaml") -> list[str]:
    with pytest.raises(SweepFileError) as exc:
        load(text, suffix)
    return [p.render() for p in exc.value.problems]


def test_a_placeholder_is_refused_wherever_it_is(load: Load) -> None:
    text = sweep_yaml(rest="job:\n  metadata: {owner: REPLACE-ME}\n").replace(
        "file-train", "file-REPLACE-ME"
    )
    assert rendered(load, text) == [
        ":4:1: training_file: is a placeholder: put the real file id here (got 'file-REPLACE-ME')",
        f":{line_of(text, 'owner')}:14: job.metadata.owner: is a placeholder: put the real"
        " value here (got 'REPLACE-ME')",
    ]


def test_the_validation_file_cannot_be_the_training_file(load: Load) -> None:
    text = sweep_yaml(rest="validation_file: file-train\n")
    assert rendered(load, text) == [
        f":{line_of(text, 'validation_file')}:1: validation_file: is the training file: a"
        " validation loss on the training data means nothing (got 'file-train')"
    ]


def test_the_same_metric_twice_is_refused_at_the_second_objective(load: Load) -> None:
    text = sweep_yaml(
        rest="objective:\n  - metric: full_valid_loss\n  - metric: train_loss\n"
        "  - metric: full_valid_loss\n    reduce: min\n"
    )
    assert rendered(load, text) == [
        f":{line_of(text, 'full_valid_loss', line_of(text, 'train_loss'))}:5:"
        " objective[2].metric: is the metric of objective[0] already (got 'full_valid_loss')"
    ]


def python_sweep(source: str) -> str:
    grader = {"type": "python", "name": "code", "source": source}
    return sweep_yaml("reinforcement", grader=False) + f"grader: {json.dumps(grader)}\n"


def test_a_python_grader_that_does_not_compile_is_refused(load: Load) -> None:
    text = python_sweep("def grade(sample, item):\n    return (1\n")
    (message,) = rendered(load, text)
    assert message.endswith(
        "grader.source: python grader source does not compile: '(' was never closed"
        " (line 2, column 12) (got 'def grade(sample, item):\\n    return (1\\n')"
    )


def test_a_python_grader_without_grade_is_refused(load: Load) -> None:
    (message,) = rendered(load, python_sweep("def score(sample, item):\n    return 1\n"))
    assert "grader.source: python grader source must define grade(sample, item)" in message


def test_a_response_format_schema_is_checked_structurally(load: Load) -> None:
    schema = json.loads(json.dumps(RESPONSE_FORMAT))
    schema["json_schema"]["schema"]["properties"]["answer"] = {"type": "text"}
    schema["json_schema"]["schema"]["required"] = ["answer", "reason"]
    text = (
        sweep_yaml("reinforcement", grader=False)
        + f"grader: {json.dumps(MULTI_GRADER)}\nresponse_format: {json.dumps(schema)}\n"
    )
    (message,) = rendered(load, text)
    assert (
        "response_format.json_schema.schema: not a valid JSON schema: properties.answer.type:"
        " 'text' is not a JSON schema type (array, boolean, integer, null, number, object,"
        " string)"
    ) in message


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "object", "required": ["b"], "properties": {"a": {}}}, "required: 'b' is not"),
        ({"type": "object", "required": "a"}, "required: must be a list of property names"),
        ({"properties": {"a": 3}}, "properties.a: a schema is an object or true/false, got 3"),
        ({"type": "array", "items": {"type": ["string", "nul"]}}, "items.type: 'nul' is not"),
        ({"anyOf": []}, "anyOf: must be a non-empty list of schemas"),
        ({"type": "object", "properties": {"a": {"enum": []}}}, "properties.a.enum: must be"),
    ],
)
def test_malformed_schemas_name_the_path_inside(schema: dict[str, object], why: str) -> None:
    from pydantic import ValidationError

    from ftsweep.api.methods import ResponseFormat

    body = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    with pytest.raises(
        ValidationError, match="not a valid JSON schema: " + why.replace("[", r"\[")
    ):
        ResponseFormat.model_validate(body)

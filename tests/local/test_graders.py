"""Reward functions from graders: TRL's calling convention, templates, refusals, problems."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from ftsweep.api.graders import AnyGrader, parse_grader
from ftsweep.local.graders import Problems, RewardFunction, render, reward_functions, sample_of


def _check(
    operation: str = "eq", input: str = "{{ sample.output_text }}", name: str = "check"
) -> dict[str, Any]:
    return {
        "type": "string_check",
        "name": name,
        "input": input,
        "reference": "{{ item.answer }}",
        "operation": operation,
    }


def _one(grader: Mapping[str, Any] | AnyGrader, **options: Any) -> RewardFunction:
    [function] = reward_functions(grader, **options)
    return function


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("eq", [1.0, 0.0, 0.0, 0.0]),
        ("ne", [0.0, 1.0, 1.0, 1.0]),
        ("like", [1.0, 1.0, 0.0, 0.0]),
        ("ilike", [1.0, 1.0, 1.0, 0.0]),
    ],
)
def test_string_check_operations(operation: str, expected: list[float]) -> None:
    completions = ["Paris", "It is Paris.", "PARIS!", "Lyon"]
    reward = _one(_check(operation))
    assert reward(["q"] * 4, completions, answer=["Paris"] * 4) == expected


def test_a_reward_function_is_named_by_its_grader_and_reads_conversations() -> None:
    reward = _one(_check(name="exact"))
    assert reward.__name__ == "exact"
    completions = [
        [{"role": "assistant", "content": "42"}],
        [
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}],
            }
        ],
        [{"role": "assistant", "content": "41"}],
    ]
    assert reward(prompts=[[]] * 3, completions=completions, answer=["42"] * 3) == [1.0, 1.0, 0.0]


def test_templates_read_nested_fields_and_write_other_values_as_json() -> None:
    sample = sample_of('{"city": "Paris", "n": [1, 2]}')
    item = {"a": {"b": "deep"}, "list": ["x", "y"], "number": 42, "flag": True, "obj": {"k": 1}}
    text = (
        "{{ item.a.b }} {{item.list[1]}} {{ item.list.0 }} {{ item.number }} {{ item.flag }}"
        " {{ item.obj }} {{ sample.output_json.city }} {{ sample.output_json.n }}"
    )
    assert render(text, sample, item) == 'deep y x 42 true {"k": 1} Paris [1, 2]'


def test_the_sample_holds_text_json_when_it_parses_and_tool_calls() -> None:
    call = {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    sample = sample_of([{"role": "assistant", "content": "not json", "tool_calls": [call]}])
    assert sample["output_text"] == "not json"
    assert "output_json" not in sample
    assert sample["output_tools"] == [call]
    assert sample_of("[1, 2]")["output_json"] == [1, 2]


def test_a_missing_field_scores_zero_is_counted_and_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reward = _one(_check(input="{{ sample.output_json.answer }}"))
    with caplog.at_level(logging.DEBUG, logger="ftsweep.local.graders"):
        scores = reward(["q"] * 3, ['{"answer": "7"}', "7", "{}"], answer=["7", "7", "7"])
        assert reward(["q"], ["x"]) == [0.0]  # no answer column at all
    assert scores == [1.0, 0.0, 0.0]
    assert reward.problems.counts == {("check", "template"): 3}
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].message.endswith(
        "'{{ sample.output_json.answer }}': sample.output_json has no 'answer'"
    )


def test_trl_arguments_and_unaligned_keywords_are_not_columns() -> None:
    reward = _one(_check(input="{{ item.completion_ids }}"))
    columns = {"answer": ["[1]"], "completion_ids": [[1]], "trainer_state": object()}
    assert reward(["q"], ["x"], **columns) == [0.0]
    reward = _one(_check())
    assert reward(["q", "q"], ["a", "a"], answer=["a"]) == [0.0, 0.0]  # one answer for two rows
    assert reward.problems.total == 2


def test_a_parsed_grader_and_a_shared_problem_counter_are_accepted() -> None:
    problems = Problems()
    reward = _one(parse_grader(_check()), problems=problems)
    reward(["q"], ["x"])
    assert reward.problems is problems
    assert problems.counts == {("check", "template"): 1}


def test_a_multi_grader_gives_one_function_of_its_formula() -> None:
    grader = {
        "type": "multi",
        "name": "total",
        "graders": {
            "exact": _check(),
            "close": {
                "type": "text_similarity",
                "name": "close",
                "input": "{{ sample.output_text }}",
                "reference": "{{ item.answer }}",
                "evaluation_metric": "fuzzy_match",
            },
        },
        "calculate_output": "0.5 * exact + 0.5 * close",
    }
    reward = _one(grader)
    assert reward.__name__ == "total"
    scores = reward(["q", "q"], ["kitten", "sitting"], answer=["kitten", "kitten"])
    assert scores == pytest.approx([1.0, 0.5 * 8 / 13])  # ratio: 1 - 5 / 13 (LCS "ittn")


def test_a_multi_formula_undefined_for_a_sample_scores_it_zero() -> None:
    grader = {
        "type": "multi",
        "name": "ratio",
        "graders": {"a": _check("like", name="a"), "b": _check("eq", name="b")},
        "calculate_output": "a / b + sqrt(b - 1)",
    }
    reward = _one(grader)
    assert reward(["q", "q"], ["yes", "yes!"], answer=["yes", "yes"]) == [1.0, 0.0]
    assert reward.problems.counts == {("ratio", "formula"): 1}


_SCORE_MODEL = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o",
    "input": [{"role": "user", "content": "Grade {{ sample.output_text }}"}],
}
_PYTHON = {"type": "python", "name": "code", "source": "def grade(sample, item):\n    return 1\n"}


def test_a_model_grader_without_a_judge_is_refused_naming_the_setting() -> None:
    with pytest.raises(
        ValueError, match=r"set service\.judge: \{base_url: \.\.\., model: \.\.\.\}"
    ):
        reward_functions(_SCORE_MODEL)
    multi = {
        "type": "multi",
        "name": "m",
        "graders": {
            "label": {
                "type": "label_model",
                "name": "label",
                "model": "gpt-4o",
                "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
                "labels": ["good", "bad"],
                "passing_labels": ["good"],
            }
        },
        "calculate_output": "label",
    }
    with pytest.raises(ValueError, match=r"grader 'label' asks a model"):
        reward_functions(multi)


def test_a_python_grader_without_the_opt_in_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"set service\.allow_python_grader: true"):
        reward_functions(_PYTHON)
    multi = {"type": "multi", "name": "m", "graders": {"code": _PYTHON}, "calculate_output": "code"}
    with pytest.raises(ValueError, match=r"grader 'code' is python"):
        reward_functions(multi)
    with pytest.raises(ValueError, match=r"python_timeout must be > 0 seconds, got 0"):
        reward_functions(_PYTHON, allow_python_grader=True, python_timeout=0)


def test_an_invalid_grader_is_refused_by_the_api_models() -> None:
    with pytest.raises(ValueError, match="calculate_output"):
        reward_functions({**_check(), "type": "multi", "graders": {"a": _check()}})


def test_importing_the_graders_loads_no_metric_library_nor_openai() -> None:
    code = (
        "import sys, ftsweep.local.graders\n"
        "heavy = [m for m in ('nltk', 'rouge_score', 'rapidfuzz', 'openai') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
